/* eidhub: the attribute registry.
 *
 * One table of every attribute the broker knows, by internal name, with its
 * eIDAS URI, its OpenID Connect claim, its type, the kind of person it
 * describes and whether eIDAS makes it mandatory (the minimum data set,
 * PROTOCOLS.md section 1). Every protocol mapping and every policy refers to
 * attributes through this table; a name not in it does not exist. */
#ifndef EH_REGISTRY_H
#define EH_REGISTRY_H

#include <stddef.h>

typedef enum eh_attr_type {
    EH_ATTR_STRING = 0,
    EH_ATTR_DATE = 1, /* "YYYY-MM-DD" */
    EH_ATTR_BOOLEAN = 2,
    EH_ATTR_INTEGER = 3,
} eh_attr_type;

typedef enum eh_person_kind {
    EH_PERSON_NATURAL = 0,
    EH_PERSON_LEGAL = 1,
} eh_person_kind;

typedef struct eh_attribute_def {
    const char *name;       /* internal name, e.g. "date_of_birth" */
    const char *eidas_uri;  /* full eIDAS attribute name */
    const char *oidc_claim; /* OpenID Connect claim, e.g. "birthdate" */
    eh_attr_type type;
    eh_person_kind person;
    int mandatory; /* part of the eIDAS minimum data set */
} eh_attribute_def;

/* eh_attributes returns the whole table (static) and its length in *n. */
const eh_attribute_def *eh_attributes(size_t *n);

/* Look-ups by internal name, eIDAS URI or OIDC claim (exact, case-sensitive);
 * each returns a static entry or NULL. */
const eh_attribute_def *eh_attribute_find(const char *name);
const eh_attribute_def *eh_attribute_find_eidas(const char *uri);
const eh_attribute_def *eh_attribute_find_claim(const char *claim);

/* eh_attr_type_name: "string", "date", "boolean", "integer". */
const char *eh_attr_type_name(eh_attr_type type);

#endif
