/* edge.conf parsing: defaults, every error names file:line, value checks. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"

static struct ct_conf c;
static char err[1024];

static int
parse(const char *text)
{
	err[0] = '\0';
	return conf_parse_text("edge.conf", text, strlen(text), &c, err, sizeof(err));
}

START_TEST(test_cpus)
{
	char buf[64];

	ck_assert_int_eq(parse(""), 0);
	ck_assert_ptr_null(conf_worker_cpus(&c, "store"));
	ck_assert_int_eq(parse("[cpus]\ningest = 1\nstore = 0-2,5\nweb =\n"), 0);
	ck_assert_ptr_nonnull(conf_worker_cpus(&c, "ingest"));
	ck_assert_str_eq(conf_worker_cpus(&c, "store")->text, "0-2,5");
	ck_assert(CPU_ISSET(1, &conf_worker_cpus(&c, "ingest")->mask));
	ck_assert_int_eq(CPU_COUNT(&conf_worker_cpus(&c, "ingest")->mask), 1);
	ck_assert_int_eq(CPU_COUNT(&conf_worker_cpus(&c, "store")->mask), 4);
	ck_assert(!CPU_ISSET(3, &conf_worker_cpus(&c, "store")->mask));
	ck_assert_ptr_null(conf_worker_cpus(&c, "web"));     /* empty: no list */
	ck_assert_ptr_null(conf_worker_cpus(&c, "cloud"));
	ck_assert_ptr_null(conf_worker_cpus(&c, "supervisor"));
	conf_cpus_format(&conf_worker_cpus(&c, "store")->mask, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0-2,5");
	/* written back cut at a whole range when the buffer is short */
	ck_assert_uint_eq(conf_cpus_format(&conf_worker_cpus(&c, "store")->mask, buf, 5), 3);
	ck_assert_str_eq(buf, "0-2");
	ck_assert_int_eq(parse("[cpus]\ncloud = 1023\n"), 0);

	static const char *const bad[] = { "x", "1-", "-1", "2-1", "1,,2", "1,",
	    "1024", "0-1024", "1 2", "+1", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char t[128];

		snprintf(t, sizeof(t), "[cpus]\n\nstore = %s\n", bad[i]);
		ck_assert_msg(parse(t) == -1, "accepted '%s'", bad[i]);
		ck_assert_msg(strstr(err, "edge.conf:3: store:") != NULL &&
		    strstr(err, "not a CPU list") != NULL, "'%s': %s", bad[i], err);
	}
	ck_assert_int_eq(parse("[cpus]\nsupervisor = 1\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "edge.conf:2: unknown worker 'supervisor' in [cpus]"));
}
END_TEST

START_TEST(test_empty_file_gives_defaults)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_str_eq(c.listen, "0.0.0.0:8899");
	ck_assert_str_eq(c.data_dir, "/var/lib/carnitrack");
	ck_assert_str_eq(c.timezone, "Europe/Istanbul");
	ck_assert_int_eq(c.heartbeat_interval, 30);
	ck_assert_int_eq(c.ack_mode, CT_ACK_PROMPT);
	ck_assert_int_eq(c.max_connections, 256);
	ck_assert_int_eq(c.batch_size, 500);
	ck_assert_int_eq(c.window, 1000);
	ck_assert_int_eq(c.offline_grace, 5);
	ck_assert_uint_eq(c.map_size, 1ull << 30);
	ck_assert_int_eq(c.retention, 30 * 86400);
}
END_TEST

START_TEST(test_full_file)
{
	const char *t =
	    "; comment\n# comment\n[edge]\nsite_id = SITE01\nsite_name = Korkut Et\n"
	    "data_dir = /tmp/x\nuser =\ntimezone = Europe/Berlin\nlog_level = debug\n"
	    "[scales]\nlisten = [::]:9000\nallow = 10.0.0.0/8, 192.168.1.7 fd00::/8\n"
	    "heartbeat_interval = 1m\nack_mode = every_record\nweight_unit_grams = 10\n"
	    "[scale SCALE-07]\nweight_unit_grams = 100\naddress = 10.1.2.3\nname = Line 7\n"
	    "[cloud]\nurl = wss://cloud.example/edge\nbatch_size = 100\noffline_grace = 10s\n"
	    "[store]\nmap_size = 256MiB\nretention = 7d\n";

	ck_assert_msg(parse(t) == 0, "%s", err);
	ck_assert_str_eq(c.site_id, "SITE01");
	ck_assert_str_eq(c.site_name, "Korkut Et");
	ck_assert_str_eq(c.user, "");
	ck_assert_str_eq(c.listen, "[::]:9000");
	ck_assert_int_eq(c.nallow, 3);
	ck_assert_int_eq(c.heartbeat_interval, 60);
	ck_assert_int_eq(c.ack_mode, CT_ACK_EVERY_RECORD);
	ck_assert_int_eq(conf_scale_unit(&c, "SCALE-07"), 100);
	ck_assert_int_eq(conf_scale_unit(&c, "SCALE-01"), 10);
	ck_assert_str_eq(conf_scale_by_addr(&c, "10.1.2.3")->id, "SCALE-07");
	ck_assert_ptr_null(conf_scale_by_addr(&c, "10.1.2.4"));
	ck_assert_uint_eq(c.map_size, 256ull << 20);
	ck_assert_int_eq(c.retention, 7 * 86400);
	ck_assert_int_eq(c.offline_grace, 10);
}
END_TEST

START_TEST(test_unknown_key_names_file_and_line)
{
	ck_assert_int_eq(parse("[edge]\nsite_id = A\n\ncolour = blue\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:4:") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "colour") != NULL, "%s", err);
}
END_TEST

START_TEST(test_unknown_section)
{
	ck_assert_int_eq(parse("[edge]\n[bogus]\nx = 1\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:3:") && strstr(err, "bogus"), "%s", err);
}
END_TEST

START_TEST(test_bad_port)
{
	ck_assert_int_eq(parse("[scales]\nlisten = 0.0.0.0:70000\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:2:") && strstr(err, "listen"), "%s", err);
	ck_assert_int_eq(parse("[scales]\nlisten = 0.0.0.0:\n"), -1);
	ck_assert_int_eq(parse("[scales]\nlisten = nohost\n"), -1);
	ck_assert_int_eq(parse("[scales]\nlisten = 1.2.3:80\n"), -1);
}
END_TEST

START_TEST(test_bad_values)
{
	ck_assert_int_eq(parse("[scales]\nack_mode = sometimes\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:2:") && strstr(err, "ack_mode"), "%s", err);
	ck_assert_int_eq(parse("[scales]\nallow = 10.0.0.0/33\n"), -1);
	ck_assert_int_eq(parse("[scales]\nmax_connections = -1\n"), -1);
	ck_assert_int_eq(parse("[cloud]\nurl = http://x\n"), -1);
	ck_assert_int_eq(parse("[store]\nmap_size = lots\n"), -1);
	ck_assert_int_eq(parse("[edge]\ntimezone = Mars/Olympus\n"), -1);
	ck_assert_int_eq(parse("[edge]\nlog_level = loud\n"), -1);
	ck_assert_int_eq(parse("[scale SCALE-7]\nname = x\n"), -1);
	ck_assert_int_eq(parse("[cloud]\nbatch_size = 12abc\n"), -1);
	ck_assert_int_eq(parse("[edge]\nsite_id = bad id\n"), -1);
	ck_assert_int_eq(parse("[store]\nstate_quota = 11%\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:2:") && strstr(err, "state_quota"), "%s", err);
	ck_assert_int_eq(parse("[store]\nstate_quota = 0\n"), -1);
	ck_assert_int_eq(parse("[store]\nstate_quota = %\n"), -1);
	ck_assert_int_eq(parse("[store]\nstate_quota = 5%%\n"), -1);
}
END_TEST

START_TEST(test_plaintext_token)
{
	ck_assert_int_eq(parse("[cloud]\nurl = ws://c/edge\ntoken_file = /t\n"), -1);
	ck_assert_msg(strstr(err, "token_file is set but url ws://c/edge is ws://") &&
	    strstr(err, "allow_plaintext_token = yes"), "%s", err);
	ck_assert_msg(parse("[cloud]\nurl = ws://c/edge\ntoken_file = /t\n"
	    "allow_plaintext_token = yes\n") == 0, "%s", err);
	ck_assert(c.allow_plaintext_token);
	ck_assert_msg(parse("[cloud]\nurl = wss://c/edge\ntoken_file = /t\n") == 0, "%s", err);
	ck_assert(!c.allow_plaintext_token);
	ck_assert_msg(parse("[cloud]\nurl = ws://c/edge\n") == 0, "%s", err);
	ck_assert_int_eq(parse("[cloud]\nallow_plaintext_token = maybe\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:2:") && strstr(err, "not yes or no"), "%s", err);
}
END_TEST

/* issue 13: [cloud] transport, and the url that goes with it */
START_TEST(test_transport)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(c.transport, CT_TRANSPORT_WEBSOCKET);
	ck_assert_msg(parse("[cloud]\ntransport = rest\nurl = https://c.example/api/v1\n") == 0,
	    "%s", err);
	ck_assert_int_eq(c.transport, CT_TRANSPORT_REST);
	ck_assert_msg(parse("[cloud]\nurl = http://c/api/v1\ntransport = rest\n") == 0, "%s",
	    err);
	ck_assert_msg(parse("[cloud]\ntransport = websocket\nurl = wss://c/edge\n") == 0, "%s",
	    err);
	ck_assert_int_eq(parse("[cloud]\ntransport = rest\nurl = wss://c/edge\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:3:") && strstr(err, "transport is rest (line 2)"),
	    "%s", err);
	ck_assert_int_eq(parse("[cloud]\n\nurl = https://c/api/v1\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:3:") && strstr(err, "websocket (the default)") &&
	    strstr(err, "transport = rest"), "%s", err);
	ck_assert_int_eq(parse("[cloud]\ntransport = grpc\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:2:") && strstr(err, "websocket or rest"), "%s", err);
	ck_assert_int_eq(parse("[cloud]\nurl = ftp://c/x\n"), -1);
	/* the token's clear-text rule covers http:// and register_url too */
	ck_assert_int_eq(parse("[cloud]\ntransport = rest\nurl = http://c/api/v1\n"
	    "token_file = /t\n"), -1);
	ck_assert_msg(strstr(err, "is http://") && strstr(err, "use https://"), "%s", err);
	ck_assert_msg(parse("[cloud]\ntransport = rest\nurl = http://c/api/v1\n"
	    "token_file = /t\nallow_plaintext_token = yes\n") == 0, "%s", err);
	ck_assert_int_eq(parse("[cloud]\nurl = wss://c/edge\ntoken_file = /t\n"
	    "register_url = http://c/register\n"), -1);
	ck_assert_msg(strstr(err, "register_url http://c/register is http://"), "%s", err);
	ck_assert_msg(parse("[cloud]\nurl = wss://c/edge\ntoken_file = /t\n"
	    "register_url = https://c/register\n") == 0, "%s", err);
}
END_TEST

START_TEST(test_state_quota)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(c.state_quota_pct, 5);
	ck_assert_msg(parse("[store]\nstate_quota = 7%\n") == 0, "%s", err);
	ck_assert_int_eq(c.state_quota_pct, 7);
	ck_assert_msg(parse("[store]\nstate_quota = 10\n") == 0, "%s", err);
	ck_assert_int_eq(c.state_quota_pct, 10);
}
END_TEST

START_TEST(test_register_url)
{
	ck_assert_int_eq(parse("[cloud]\nregister_url = https://cloud.example/api/edge/register\n"),
	    0);
	ck_assert_str_eq(c.register_url, "https://cloud.example/api/edge/register");
	ck_assert_int_eq(parse("[cloud]\nregister_url =\n"), 0);
	ck_assert_str_eq(c.register_url, "");
	ck_assert_int_eq(parse("[cloud]\n\nregister_url = ws://cloud/register\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:3:") && strstr(err, "register_url"), "%s", err);
	ck_assert_int_eq(parse("[cloud]\nregister_url = http://\n"), -1);
	ck_assert_int_eq(parse("[cloud]\nregister_url = http:///x\n"), -1);
}
END_TEST

/* [http]: the web worker's port, on loopback by default, empty = off; its
 * allow list apart from the scales'; token_file a path. */
START_TEST(test_http_section)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	ck_assert_int_eq(parse(""), 0);
	ck_assert_str_eq(c.http_listen, "127.0.0.1:9180");
	ck_assert_int_eq(c.http_nallow, 0);
	ck_assert_str_eq(c.http_token_file, "");
	ck_assert_msg(parse("[scales]\nallow = 10.0.0.0/8\n[http]\nlisten = [::]:9181\n"
	    "allow = 192.168.1.0/24, 127.0.0.1\ntoken_file = /etc/carnitrack/http-token\n") == 0,
	    "%s", err);
	ck_assert_str_eq(c.http_listen, "[::]:9181");
	ck_assert_int_eq(c.http_nallow, 2);
	ck_assert_int_eq(c.nallow, 1);
	ck_assert_str_eq(c.http_token_file, "/etc/carnitrack/http-token");
	inet_pton(AF_INET, "192.168.1.77", &sin.sin_addr);
	ck_assert(conf_cidr_match(c.http_allow, c.http_nallow, (struct sockaddr *)&sin));
	ck_assert(!conf_allowed(&c, (struct sockaddr *)&sin));
	ck_assert_msg(parse("[http]\nlisten =\n") == 0, "%s", err);
	ck_assert_str_eq(c.http_listen, "");
	ck_assert_int_eq(parse("[http]\nlisten = 127.0.0.1:0\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:2:") && strstr(err, "listen"), "%s", err);
	ck_assert_int_eq(parse("[http]\nlisten = localhost\n"), -1);
	ck_assert_int_eq(parse("[http]\n\nallow = 10.0.0.0/40\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:3:") && strstr(err, "allow"), "%s", err);
	ck_assert_int_eq(parse("[http]\nport = 80\n"), -1);
	ck_assert_msg(strstr(err, "unknown key 'port' in [http]"), "%s", err);
}
END_TEST

/* deviceType is one of the contract's words; the default is disassembly. */
START_TEST(test_device_type_values)
{
	ck_assert_int_eq(parse("[scale SCALE-01]\ndevice_type = retail\n[scale SCALE-02]\n"
	    "device_type = receiving\n[scale SCALE-03]\ndevice_type = disassembly\n"), 0);
	ck_assert_str_eq(conf_scale_by_id(&c, "SCALE-01")->device_type, "retail");
	ck_assert_int_eq(parse("[scale SCALE-01]\nname = x\n\ndevice_type = DP-401\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:4:") && strstr(err, "device_type") &&
	    strstr(err, "DP-401"), "%s", err);
}
END_TEST

START_TEST(test_syntax_error_line)
{
	ck_assert_int_eq(parse("[edge]\nsite_id = A\nthis is not ini\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:3:") != NULL, "%s", err);
}
END_TEST

START_TEST(test_continuation_line_is_an_error)
{
	ck_assert_int_eq(parse("[edge]\nsite_name = A\n  B\n"), -1);
	ck_assert_msg(strstr(err, "edge.conf:3:") != NULL, "%s", err);
}
END_TEST

START_TEST(test_cross_field_check)
{
	ck_assert_int_eq(parse("[scales]\nstale_after = 3\nclose_after = 3\n"), -1);
	ck_assert_msg(strstr(err, "close_after") != NULL, "%s", err);
	ck_assert_int_eq(parse("[scale SCALE-01]\naddress = 10.0.0.1\n[scale SCALE-02]\naddress = "
	    "10.0.0.1\n"), -1);
}
END_TEST

START_TEST(test_allow_matching)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };

	ck_assert_int_eq(parse("[scales]\nallow = 10.1.0.0/16 fd00::/8\n"), 0);
	inet_pton(AF_INET, "10.1.200.3", &a4.sin_addr);
	ck_assert_int_eq(conf_allowed(&c, (struct sockaddr *)&a4), 1);
	inet_pton(AF_INET, "10.2.0.1", &a4.sin_addr);
	ck_assert_int_eq(conf_allowed(&c, (struct sockaddr *)&a4), 0);
	inet_pton(AF_INET6, "::ffff:10.1.0.9", &a6.sin6_addr);
	ck_assert_int_eq(conf_allowed(&c, (struct sockaddr *)&a6), 1);
	inet_pton(AF_INET6, "fd12::1", &a6.sin6_addr);
	ck_assert_int_eq(conf_allowed(&c, (struct sockaddr *)&a6), 1);
	inet_pton(AF_INET6, "fe80::1", &a6.sin6_addr);
	ck_assert_int_eq(conf_allowed(&c, (struct sockaddr *)&a6), 0);
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(conf_allowed(&c, (struct sockaddr *)&a6), 1);
}
END_TEST

START_TEST(test_units)
{
	int64_t d;
	uint64_t s;

	ck_assert_int_eq(conf_parse_duration("90", &d), 0); ck_assert_int_eq(d, 90);
	ck_assert_int_eq(conf_parse_duration("2h", &d), 0); ck_assert_int_eq(d, 7200);
	ck_assert_int_eq(conf_parse_duration("-1s", &d), -1);
	ck_assert_int_eq(conf_parse_duration("1w", &d), -1);
	ck_assert_int_eq(conf_parse_size("1GiB", &s), 0); ck_assert_uint_eq(s, 1ull << 30);
	ck_assert_int_eq(conf_parse_size("64KiB", &s), 0); ck_assert_uint_eq(s, 65536);
	ck_assert_int_eq(conf_parse_size("99999999999999999999GiB", &s), -1);
}
END_TEST

START_TEST(test_long_line_rejected)
{
	static char t[8000];
	snprintf(t, sizeof(t), "[edge]\nsite_name = ");
	memset(t + strlen(t), 'x', 5000);
	ck_assert_int_eq(parse(t), -1);
	ck_assert_msg(strstr(err, "edge.conf:2:") != NULL, "%s", err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_empty_file_gives_defaults);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_unknown_key_names_file_and_line);
	tcase_add_test(tc, test_unknown_section);
	tcase_add_test(tc, test_bad_port);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_device_type_values);
	tcase_add_test(tc, test_register_url);
	tcase_add_test(tc, test_transport);
	tcase_add_test(tc, test_state_quota);
	tcase_add_test(tc, test_http_section);
	tcase_add_test(tc, test_plaintext_token);
	tcase_add_test(tc, test_syntax_error_line);
	tcase_add_test(tc, test_continuation_line_is_an_error);
	tcase_add_test(tc, test_cross_field_check);
	tcase_add_test(tc, test_allow_matching);
	tcase_add_test(tc, test_units);
	tcase_add_test(tc, test_long_line_rejected);
	tcase_add_test(tc, test_cpus);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
