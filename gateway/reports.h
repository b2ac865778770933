/*
 * reports — POST /__consent/report: CSP violation reports (report-uri and Reporting API
 * formats, filters/csp_report.c), size-capped, rate-limited per client, stored as injection
 * events in the consent store's database; GET /admin/injections lists them with counts by
 * blocked host.
 */
#ifndef GW_REPORTS_H
#define GW_REPORTS_H

#include <h2o.h>

/* registers /__consent/report on hostconf (before the static /__consent path) */
void gw_reports_register(h2o_hostconf_t *hostconf);
void gw_reports_register_admin(void);

#endif
