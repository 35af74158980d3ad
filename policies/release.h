/* eidhub: the release step of the response chain.
 *
 * Receives the identity a backend established, the request and the
 * requester's profile, and hands on a minimised identity: only attributes
 * that are both allowed by the profile and asked for by the request. The
 * subject (country, identifier) travels on for the frontend to turn into a
 * public or pairwise subject; it is never an attribute unless allowed. */
#ifndef EH_RELEASE_H
#define EH_RELEASE_H

#include "broker/authn.h"
#include "broker/rc.h"
#include "policies/profile.h"

/* eh_release_minimise returns in *out a new identity (caller frees) with
 * in's subject, LoA, method and time, and the attributes of in that p
 * allows and req->requested names. */
eh_rc eh_release_minimise(const eh_profile *p, const eh_authn_request *req, const eh_identity *in,
                          eh_identity **out);

#endif
