/*
 * Scale wall-clock time -> UTC. The scale knows nothing of zones; the site's
 * configured zone (not the host's) gives the meaning. The ingest worker owns
 * its process, so the zone is simply the process TZ and mktime does the DST
 * arithmetic from tzdata.
 */
#include "dp401/dp401.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool
tz_name_ok(const char *tz)
{
	size_t n = strlen(tz);

	if (n == 0 || n > 64 || tz[0] == '/' || strstr(tz, "..") != NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = tz[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '/' || c == '_' || c == '-' || c == '+'))
			return false;
	}
	return true;
}

int
dp401_set_timezone(const char *tz)
{
	const char *dir = getenv("TZDIR");
	char path[512];

	if (tz == NULL || !tz_name_ok(tz))
		return -1;
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	/* glibc silently falls back to UTC for a name it cannot load; an
	 * unknown zone must be an error, not 3 hours of wrong timestamps. */
	if (snprintf(path, sizeof(path), "%s/%s", dir, tz) >= (int)sizeof(path) ||
	    access(path, R_OK) != 0)
		return -1;
	if (setenv("TZ", tz, 1) != 0)
		return -1;
	tzset();
	return 0;
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

int
dp401_local_to_utc(int year, int mon, int day, int hh, int mm, int ss, int64_t *out)
{
	struct tm tm;
	time_t t;

	/* Checked here, not by a mktime round trip: mktime would quietly turn
	 * 31.02 into 03.03. The year window only keeps time_t arithmetic sane. */
	if (year < 1970 || year > 2199 || mon < 1 || mon > 12 || day < 1 ||
	    day > days_in_month(year, mon) || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
	    ss < 0 || ss > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31))
		return -1;
	*out = (int64_t)t;
	return 0;
}
