#include "attributes/registry.h"

#include <string.h>

#define NP "http://eidas.europa.eu/attributes/naturalperson/"
#define LP "http://eidas.europa.eu/attributes/legalperson/"

/* The registry. Natural persons first, then legal persons; the eIDAS minimum
 * data sets are marked mandatory. The person identifier is the input of the
 * subject (never released raw where a pairwise subject is configured). */
static const eh_attribute_def eh_attribute_table[] = {
    {"person_identifier", NP "PersonIdentifier", "person_identifier", EH_ATTR_STRING,
     EH_PERSON_NATURAL, 1},
    {"family_name", NP "CurrentFamilyName", "family_name", EH_ATTR_STRING, EH_PERSON_NATURAL, 1},
    {"given_name", NP "CurrentGivenName", "given_name", EH_ATTR_STRING, EH_PERSON_NATURAL, 1},
    {"date_of_birth", NP "DateOfBirth", "birthdate", EH_ATTR_DATE, EH_PERSON_NATURAL, 1},
    {"birth_name", NP "BirthName", "birth_family_name", EH_ATTR_STRING, EH_PERSON_NATURAL, 0},
    {"place_of_birth", NP "PlaceOfBirth", "place_of_birth", EH_ATTR_STRING, EH_PERSON_NATURAL, 0},
    {"current_address", NP "CurrentAddress", "address", EH_ATTR_STRING, EH_PERSON_NATURAL, 0},
    {"gender", NP "Gender", "gender", EH_ATTR_STRING, EH_PERSON_NATURAL, 0},
    {"legal_person_identifier", LP "LegalPersonIdentifier", "legal_person_identifier",
     EH_ATTR_STRING, EH_PERSON_LEGAL, 1},
    {"legal_name", LP "LegalName", "legal_name", EH_ATTR_STRING, EH_PERSON_LEGAL, 1},
    {"legal_address", LP "LegalPersonAddress", "legal_address", EH_ATTR_STRING, EH_PERSON_LEGAL,
     0},
    {"vat_registration_number", LP "VATRegistrationNumber", "vat_registration_number",
     EH_ATTR_STRING, EH_PERSON_LEGAL, 0},
    {"tax_reference", LP "TaxReference", "tax_reference", EH_ATTR_STRING, EH_PERSON_LEGAL, 0},
    {"lei", LP "LEI", "lei", EH_ATTR_STRING, EH_PERSON_LEGAL, 0},
    {"eori", LP "EORI", "eori", EH_ATTR_STRING, EH_PERSON_LEGAL, 0},
    {"seed", LP "SEED", "seed", EH_ATTR_STRING, EH_PERSON_LEGAL, 0},
    {"sic", LP "SIC", "sic", EH_ATTR_STRING, EH_PERSON_LEGAL, 0},
};

#define N_ATTRIBUTES (sizeof(eh_attribute_table) / sizeof(eh_attribute_table[0]))

const eh_attribute_def *eh_attributes(size_t *n)
{
    *n = N_ATTRIBUTES;
    return eh_attribute_table;
}

/* find_by looks an entry up by the string member at offset. */
static const eh_attribute_def *find_by(size_t offset, const char *value)
{
    if (value == NULL)
        return NULL;
    for (size_t i = 0; i < N_ATTRIBUTES; i++) {
        const char *member = *(const char *const *)((const char *)&eh_attribute_table[i] + offset);
        if (strcmp(member, value) == 0)
            return &eh_attribute_table[i];
    }
    return NULL;
}

const eh_attribute_def *eh_attribute_find(const char *name)
{
    return find_by(offsetof(eh_attribute_def, name), name);
}

const eh_attribute_def *eh_attribute_find_eidas(const char *uri)
{
    return find_by(offsetof(eh_attribute_def, eidas_uri), uri);
}

const eh_attribute_def *eh_attribute_find_claim(const char *claim)
{
    return find_by(offsetof(eh_attribute_def, oidc_claim), claim);
}

const char *eh_attr_type_name(eh_attr_type type)
{
    static const char *const names[] = {"string", "date", "boolean", "integer"};
    if ((unsigned)type < sizeof(names) / sizeof(names[0]))
        return names[type];
    return "?";
}
