/*
 * Opening the environment: directory, named databases, schema version
 * (newer is refused, older is migrated), stale reader slots, and the modes
 * of the store's directory and files set exactly, whatever the umask.
 * Readers open the same environment MDB_RDONLY and never create anything.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const store_db_names[DB_COUNT] = {
	[DB_META] = "meta", [DB_EVENTS] = "events", [DB_EVENT_IDS] = "event_ids",
	[DB_PENDING] = "pending", [DB_SYNC] = "sync", [DB_BATCHES] = "batches",
	[DB_SESSIONS] = "sessions", [DB_DEVICES] = "devices", [DB_PLU] = "plu",
	[DB_QUARANTINE] = "quarantine",
};

#define DEFAULT_MAP_SIZE (1024ull * 1024 * 1024)

static int
meta_get_u64(struct store *st, MDB_txn *txn, const char *name, uint64_t *v, bool *found)
{
	MDB_val k = store_val(name, strlen(name)), d;
	int rc = mdb_get(txn, st->dbi[DB_META], &k, &d);

	*found = false;
	if (rc == MDB_NOTFOUND)
		return STORE_OK;
	if (rc != 0)
		return store_fail(st, rc, "meta %s", name);
	if (d.mv_size != 8)
		return store_seterr(st, STORE_CORRUPT, "meta %s: %zu bytes, want 8", name,
		    d.mv_size);
	*v = store_get_be64(d.mv_data);
	*found = true;
	return STORE_OK;
}

static int
meta_put_u64(struct store *st, MDB_txn *txn, const char *name, uint64_t v)
{
	uint8_t b[8];
	MDB_val k = store_val(name, strlen(name)), d = store_val(b, 8);
	int rc;

	store_be64(v, b);
	if ((rc = mdb_put(txn, st->dbi[DB_META], &k, &d, 0)) != 0)
		return store_fail(st, rc, "meta %s: write", name);
	return STORE_OK;
}

/* Older layouts, one step per version. Version 0 is an environment made
 * before the version key existed (same layout): only the key is added. */
static int
migrate(struct store *st, MDB_txn *txn, uint64_t from)
{
	for (uint64_t v = from; v < STORE_SCHEMA_VERSION; v++) {
		switch (v) {
		case 0:
			break;
		case 1:
			/* 2: events in codec version 2 and the quarantine database,
			 * which open_dbs has created; older programs must not read
			 * either */
			break;
		case 2:
			/* 3: batch records V2 (monotonic start, clock flags),
			 * written from now on; V1 records still decode */
			break;
		case 3:
			/* 4: batch records V3 (first and last event seq), written
			 * from now on; V1 and V2 records still decode */
			break;
		default:
			return store_seterr(st, STORE_VERSION,
			    "no migration from store schema version %llu", (unsigned long long)v);
		}
	}
	return meta_put_u64(st, txn, "schema", STORE_SCHEMA_VERSION);
}

static int
open_dbs(struct store *st, MDB_txn *txn)
{
	unsigned flags = st->readonly ? 0 : MDB_CREATE;
	int rc;

	for (int i = 0; i < DB_COUNT; i++) {
		rc = mdb_dbi_open(txn, store_db_names[i], flags, &st->dbi[i]);
		if (rc == MDB_NOTFOUND && i == DB_QUARANTINE)
			return store_seterr(st, STORE_VERSION,
			    "%s: store schema is older than this program's version %d (no database "
			    "'%s'); the store worker migrates it when it starts", st->path,
			    STORE_SCHEMA_VERSION, store_db_names[i]);
		if (rc == MDB_NOTFOUND)
			return store_seterr(st, STORE_NOTFOUND,
			    "%s: store not initialised yet (no database '%s'; is the store worker "
			    "running?)",
			    st->path, store_db_names[i]);
		if (rc != 0)
			return store_fail(st, rc, "%s: open database '%s'", st->path,
			    store_db_names[i]);
	}
	return STORE_OK;
}

static int
check_schema(struct store *st, MDB_txn *txn)
{
	uint64_t ver = 0, seq = 0;
	bool found;
	MDB_stat ms;
	int rc;

	if ((rc = meta_get_u64(st, txn, "schema", &ver, &found)) != 0)
		return rc;
	if (!found) {
		if ((rc = mdb_stat(txn, st->dbi[DB_EVENTS], &ms)) != 0)
			return store_fail(st, rc, "stat events");
		/* A fresh environment gets the current version; one with events but
		 * no version is the pre-versioned layout. */
		ver = ms.ms_entries == 0 ? STORE_SCHEMA_VERSION : 0;
		if (ver == STORE_SCHEMA_VERSION && !st->readonly &&
		    (rc = meta_put_u64(st, txn, "schema", ver)) != 0)
			return rc;
	}
	if (ver > STORE_SCHEMA_VERSION)
		return store_seterr(st, STORE_VERSION,
		    "%s: store schema version %llu is newer than this program's version %d; "
		    "refusing to touch it (upgrade carnitrack-edge)", st->path,
		    (unsigned long long)ver, STORE_SCHEMA_VERSION);
	if (ver < STORE_SCHEMA_VERSION) {
		if (st->readonly)
			return store_seterr(st, STORE_VERSION,
			    "%s: store schema version %llu is older than this program's version "
			    "%d; "
			    "the store worker migrates it when it starts", st->path,
			    (unsigned long long)ver, STORE_SCHEMA_VERSION);
		if ((rc = migrate(st, txn, ver)) != 0)
			return rc;
	}

	{
		MDB_val k = store_val("full", 4), d;

		st->full_saved = mdb_get(txn, st->dbi[DB_META], &k, &d) == 0 && d.mv_size == 1 &&
		    *(const char *)d.mv_data == '1';
	}

	/* next sequence: the larger of what meta says and the last event + 1,
	 * so a lost meta write can never reuse a sequence. */
	if ((rc = meta_get_u64(st, txn, "next_seq", &seq, &found)) != 0)
		return rc;
	st->next_seq = found && seq > 0 ? seq : 1;
	{
		MDB_cursor *c;
		MDB_val k, d;

		if ((rc = mdb_cursor_open(txn, st->dbi[DB_EVENTS], &c)) != 0)
			return store_fail(st, rc, "cursor events");
		rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
		mdb_cursor_close(c);
		if (rc == 0 && k.mv_size == 8 && store_get_be64(k.mv_data) >= st->next_seq)
			st->next_seq = store_get_be64(k.mv_data) + 1;
		else if (rc != 0 && rc != MDB_NOTFOUND)
			return store_fail(st, rc, "last event");
	}
	return STORE_OK;
}

/* Sets the mode of a file or directory of ours through a descriptor opened
 * without following a link (the store directory belongs to the daemon's
 * user; nothing here is done for anyone else). */
static int
set_mode(struct store *st, int dirfd, const char *name, int flags, mode_t mode)
{
	struct stat sb;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return store_seterr(st, STORE_ERR, "%s/%s: %s", st->path, name, strerror(errno));
	if (fstat(fd, &sb) != 0 ||
	    ((sb.st_mode & 07777) != mode && fchmod(fd, mode) != 0)) {
		int e = errno;
		close(fd);
		return store_seterr(st, STORE_ERR, "%s/%s: chmod %04o: %s", st->path, name,
		    (unsigned)mode, strerror(e));
	}
	close(fd);
	return STORE_OK;
}

static int
make_dir(struct store *st, const char *data_dir)
{
	if (mkdir(data_dir, 0750) != 0 && errno != EEXIST)
		return store_seterr(st, STORE_ERR, "mkdir %s: %s", data_dir, strerror(errno));
	if (mkdir(st->path, 0750) != 0 && errno != EEXIST)
		return store_seterr(st, STORE_ERR, "mkdir %s: %s", st->path, strerror(errno));
	return set_mode(st, AT_FDCWD, st->path, O_RDONLY | O_DIRECTORY, 0750);
}

/* The modes LMDB gets from mdb_env_open are cut by the umask. What the
 * README promises: the group (operators running carnitrackctl) reads the
 * data and writes the lock file (LMDB readers take a slot in it); others
 * nothing. */
static int
set_file_modes(struct store *st)
{
	int dfd = open(st->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), e;

	if (dfd < 0)
		return store_seterr(st, STORE_ERR, "%s: %s", st->path, strerror(errno));
	if ((e = set_mode(st, dfd, "data.mdb", O_RDONLY, 0640)) == STORE_OK)
		e = set_mode(st, dfd, "lock.mdb", O_RDONLY, 0660);
	close(dfd);
	return e;
}

static int
do_open(struct store *st, const char *data_dir)
{
	unsigned flags = MDB_NOTLS;
	struct stat sb;
	MDB_txn *txn;
	int rc, e;

	if ((size_t)snprintf(st->path, sizeof(st->path), "%s/store", data_dir) >= sizeof(st->path))
		return store_seterr(st, STORE_INVAL, "data_dir too long: %s", data_dir);
	if (st->readonly) {
		if (stat(st->path, &sb) != 0)
			return store_seterr(st, STORE_NOTFOUND, "%s: %s (store not created yet)",
			    st->path, strerror(errno));
		flags |= MDB_RDONLY;
	} else if ((e = make_dir(st, data_dir)) != 0)
		return e;

	if ((rc = mdb_env_create(&st->env)) != 0)
		return store_fail(st, rc, "mdb_env_create");
	if ((rc = mdb_env_set_maxdbs(st->env, DB_COUNT)) != 0)
		return store_fail(st, rc, "mdb_env_set_maxdbs");
	if (st->opts.map_size != 0 || !st->readonly) {
		uint64_t ms = st->opts.map_size ? st->opts.map_size : DEFAULT_MAP_SIZE;
		if ((rc = mdb_env_set_mapsize(st->env, (size_t)ms)) != 0)
			return store_fail(st, rc, "map size %llu", (unsigned long long)ms);
	}
	/* 0660, cut by the umask, then set exactly by set_file_modes. */
	if ((rc = mdb_env_open(st->env, st->path, flags, 0660)) != 0)
		return store_fail(st, rc, "open %s%s", st->path, st->readonly ? " read-only" : "");
	if (!st->readonly && (e = set_file_modes(st)) != 0)
		return e;
	if ((rc = mdb_reader_check(st->env, &e)) != 0)
		return store_fail(st, rc, "%s: reader check", st->path);

	if ((rc = mdb_txn_begin(st->env, NULL, st->readonly ? MDB_RDONLY : 0, &txn)) != 0)
		return store_fail(st, rc, "%s: begin", st->path);
	if ((e = open_dbs(st, txn)) != 0 || (e = check_schema(st, txn)) != 0) {
		mdb_txn_abort(txn);
		return e;
	}
	/* commit, not abort: that is what keeps the dbi handles opened here */
	if ((rc = mdb_txn_commit(txn)) != 0)
		return store_fail(st, rc, "%s: commit schema", st->path);
	{
		MDB_envinfo ei;
		MDB_stat es;

		mdb_env_info(st->env, &ei);
		mdb_env_stat(st->env, &es);
		st->psize = es.ms_psize;
		st->max_pages = ei.me_mapsize / es.ms_psize;
	}
	return STORE_OK;
}

/* Which boot a monotonic stamp belongs to: after a reboot it starts over. */
static void
read_boot_id(struct store *st)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	st->boot_id[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(st->boot_id, sizeof(st->boot_id), f) == NULL)
		st->boot_id[0] = '\0';
	st->boot_id[strcspn(st->boot_id, "\n")] = '\0';
	fclose(f);
}

int
store_open(struct store **out, const char *data_dir, const struct store_opts *o,
    char *err, size_t errlen)
{
	struct store *st;
	int e;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "store: out of memory");
		return STORE_ERR;
	}
	if (o != NULL)
		st->opts = *o;
	st->opts.site_id = NULL;            /* not kept: caller's memory */
	if (st->opts.full_pct == 0 || st->opts.full_pct > 99)
		st->opts.full_pct = 80;
	if (st->opts.state_quota_pct == 0 || st->opts.state_quota_pct > 50)
		st->opts.state_quota_pct = 5;
	st->readonly = st->opts.readonly;
	read_boot_id(st);
	if (o != NULL && o->site_id != NULL)
		snprintf(st->site_id, sizeof(st->site_id), "%s", o->site_id);
	if ((e = do_open(st, data_dir)) != 0) {
		snprintf(err, errlen, "%s", st->err);
		store_close(st);
		return e;
	}
	*out = st;
	return STORE_OK;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->wtxn != NULL)
		store_abort(st);
	if (st->env != NULL)
		mdb_env_close(st->env);
	free(st);
}

int
store_reader_check(struct store *st, int *cleared)
{
	int rc, dead = 0;

	if ((rc = mdb_reader_check(st->env, &dead)) != 0)
		return store_fail(st, rc, "%s: reader check", st->path);
	if (cleared != NULL)
		*cleared = dead;
	return STORE_OK;
}

int
store_rtxn_begin(struct store *st, MDB_txn **txn)
{
	int rc;

	if (st->wtxn != NULL && !st->wtxn_dead) {
		*txn = st->wtxn;
		return STORE_OK;
	}
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
	if (rc == MDB_MAP_RESIZED) {
		/* the writer grew the map: adopt its size and retry once */
		if ((rc = mdb_env_set_mapsize(st->env, 0)) == 0)
			rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
	}
	if (rc != 0)
		return store_fail(st, rc, "%s: begin read", st->path);
	return STORE_OK;
}

void
store_rtxn_end(struct store *st, MDB_txn *txn)
{
	if (txn != NULL && txn != st->wtxn)
		mdb_txn_abort(txn);
}
