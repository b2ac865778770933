/*
 * consent_api — the visitor's consent endpoints under /__consent/api/ (see DESIGN.md):
 * state, consent (POST: decide, DELETE: withdraw), and the records endpoints.
 */
#ifndef GW_CONSENT_API_H
#define GW_CONSENT_API_H

#include <h2o.h>

/* registers the /__consent/api path on hostconf (before the static /__consent path) */
int gw_consent_api_register(h2o_hostconf_t *hostconf);

#endif
