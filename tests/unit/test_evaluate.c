#include "tests/unit/suites.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attributes/registry.h"
#include "policies/policy.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ helpers */

static int64_t at(int y, int m, int d, int hh, int mm, int ss)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    return (int64_t)timegm(&tm);
}

static eh_policy *policy(const char *text)
{
    char err[512];
    eh_policy *p = NULL;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_msg(eh_policy_from_json("rp", 1, doc, &p, err, sizeof(err)) == EH_OK, "%s", err);
    json_decref(doc);
    return p;
}

static eh_policy *profile(const char *name)
{
    eh_policy *p = NULL;
    ck_assert_int_eq(eh_policy_profile(name, &p), EH_OK);
    return p;
}

/* citizen returns an Estonian identity with every natural-person attribute,
 * born on dob, plus a backend's internal attribute and a forged derived
 * one that must never be passed on. */
static eh_identity *citizen(const char *dob)
{
    eh_identity *id = NULL;
    ck_assert_int_eq(eh_identity_new(&id), EH_OK);
    id->country = strdup("EE");
    id->id_type = strdup("PNO");
    id->id_value = strdup("38001085718");
    id->method = strdup("mobile_id");
    id->loa = EH_LOA_HIGH;
    id->auth_time = at(2026, 11, 23, 9, 0, 0);
    json_t *a = id->attributes;
    json_object_set_new(a, "person_identifier", json_string("EE/EE/38001085718"));
    json_object_set_new(a, "given_name", json_string("MARY ÄNN"));
    json_object_set_new(a, "family_name", json_string("O’CONNEŽ-ŠUSLIK TESTNUMBER"));
    json_object_set_new(a, "date_of_birth", json_string(dob));
    json_object_set_new(a, "gender", json_string("Female"));
    json_object_set_new(a, "birth_name", json_string("TESTNUMBER"));
    json_object_set_new(a, "place_of_birth", json_string("Tallinn"));
    json_object_set_new(a, "current_address", json_string("PGVpZGFzOkN1cnJlbnRBZGRyZXNz"));
    json_object_set_new(a, "phone_number", json_string("+37200000766"));
    json_object_set_new(a, "age_over_18", json_true());
    return id;
}

static eh_authn_request *request(const char *const *names, size_t n)
{
    eh_authn_request *req = NULL;
    ck_assert_int_eq(eh_authn_request_new(&req), EH_OK);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(req->requested, json_string(names[i]));
    return req;
}

static eh_identity *evaluate(const eh_policy *p, const eh_authn_request *req, const eh_identity *in,
                             int64_t now)
{
    eh_identity *out = NULL;
    ck_assert_int_eq(eh_policy_evaluate(p, req, in, now, &out), EH_OK);
    ck_assert_ptr_nonnull(out);
    return out;
}

/* keys returns the released attribute names, sorted, comma-separated. */
static const char *keys(const eh_identity *id)
{
    static char buf[1024];
    const char *names[64];
    size_t n = 0, used = 0;
    const char *k;
    json_t *v;

    json_object_foreach(id->attributes, k, v) {
        if (n < N_OF(names))
            names[n++] = k;
    }
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    }
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < sizeof(buf); i++)
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "," : "", names[i]);
    return buf;
}

/* ------------------------------------------------------------ examples */

START_TEST(bar_learns_only_the_age)
{
    const char *asks[] = {"given_name", "date_of_birth", "age_over_18", "person_identifier"};
    eh_policy *p = profile("age-only");
    eh_identity *in = citizen("2008-11-23"), *out;
    eh_authn_request *none = request(NULL, 0), *greedy = request(asks, N_OF(asks));

    /* Asked for nothing: age_over_18 is released always. */
    out = evaluate(p, none, in, at(2026, 11, 23, 0, 0, 0));
    ck_assert_str_eq(keys(out), "age_over_18");
    ck_assert(json_is_true(json_object_get(out->attributes, "age_over_18")));
    eh_identity_free(out);

    /* Asked for more: still only the age, and a day earlier it is false. */
    out = evaluate(p, greedy, in, at(2026, 11, 22, 23, 59, 59));
    ck_assert_str_eq(keys(out), "age_over_18");
    ck_assert(json_is_false(json_object_get(out->attributes, "age_over_18")));
    eh_identity_free(out);

    /* No birth date: nothing to say, and the backend's forged value is not it. */
    json_object_del(in->attributes, "date_of_birth");
    out = evaluate(p, greedy, in, at(2026, 11, 23, 0, 0, 0));
    ck_assert_str_eq(keys(out), "");
    eh_identity_free(out);

    eh_identity_free(in);
    eh_authn_request_free(none);
    eh_authn_request_free(greedy);
    eh_policy_free(p);
}
END_TEST

START_TEST(tax_office_gets_the_full_profile)
{
    const char *asks[] = {"person_identifier", "given_name",      "family_name",
                          "date_of_birth",     "gender",          "birth_name",
                          "place_of_birth",    "current_address", "age_over_18",
                          "legal_name",        "phone_number"};
    eh_policy *p = profile("full");
    eh_identity *in = citizen("1980-01-08"), *out;
    eh_authn_request *req = request(asks, N_OF(asks));

    out = evaluate(p, req, in, at(2026, 1, 1, 0, 0, 0));
    ck_assert_str_eq(keys(out), "birth_name,current_address,date_of_birth,family_name,gender,"
                                "given_name,person_identifier,place_of_birth");
    ck_assert_str_eq(json_string_value(json_object_get(out->attributes, "family_name")),
                     "O’CONNEŽ-ŠUSLIK TESTNUMBER");
    ck_assert_str_eq(json_string_value(json_object_get(out->attributes, "date_of_birth")),
                     "1980-01-08");
    eh_identity_free(out);

    /* Only what is asked for: full is an allow-list, not a push. */
    eh_authn_request_free(req);
    req = request(asks + 1, 2);
    out = evaluate(p, req, in, at(2026, 1, 1, 0, 0, 0));
    ck_assert_str_eq(keys(out), "family_name,given_name");
    eh_identity_free(out);

    eh_identity_free(in);
    eh_authn_request_free(req);
    eh_policy_free(p);
}
END_TEST

START_TEST(youth_services_sector)
{
    const char *asks[] = {"given_name",        "age_band",      "is_resident_of_EE",
                          "is_resident_of_LV", "date_of_birth", "country"};
    eh_policy *p = policy("{\"release\": [\"given_name\", \"age_band\", \"is_resident_of_EE\", "
                          "\"age_over_26\"], \"release_always\": [\"age_over_26\"], "
                          "\"subject_type\": \"pairwise\", \"sector\": \"youth-services\", "
                          "\"countries\": [\"EE\"], \"min_loa\": \"substantial\", "
                          "\"consent\": true}");
    eh_identity *in = citizen("2004-02-29"), *out;
    eh_authn_request *req = request(asks, N_OF(asks));

    out = evaluate(p, req, in, at(2030, 2, 28, 20, 0, 0));
    ck_assert_str_eq(keys(out), "age_band,age_over_26,given_name,is_resident_of_EE");
    ck_assert_str_eq(json_string_value(json_object_get(out->attributes, "age_band")), "25-34");
    ck_assert(json_is_false(json_object_get(out->attributes, "age_over_26")));
    ck_assert(json_is_true(json_object_get(out->attributes, "is_resident_of_EE")));
    /* The subject travels on for the frontend's pairwise sub (sector from p). */
    ck_assert_str_eq(out->country, "EE");
    ck_assert_str_eq(out->id_type, "PNO");
    ck_assert_str_eq(out->id_value, "38001085718");
    ck_assert_str_eq(out->method, "mobile_id");
    ck_assert_int_eq(out->loa, EH_LOA_HIGH);
    ck_assert_int_eq(out->auth_time, in->auth_time);
    ck_assert_str_eq(p->sector, "youth-services");
    eh_identity_free(out);

    out = evaluate(p, req, in, at(2030, 3, 1, 0, 0, 0));
    ck_assert(json_is_true(json_object_get(out->attributes, "age_over_26")));
    eh_identity_free(out);

    /* No request at all: only what is released always. */
    out = evaluate(p, NULL, in, at(2030, 3, 1, 0, 0, 0));
    ck_assert_str_eq(keys(out), "age_over_26");
    eh_identity_free(out);

    eh_identity_free(in);
    eh_authn_request_free(req);
    eh_policy_free(p);
}
END_TEST

START_TEST(identities_outside_the_policy_are_refused)
{
    eh_policy *p = policy("{\"release\": [\"given_name\"], \"min_loa\": \"high\", "
                          "\"methods\": [\"mobile_id\"], \"countries\": [\"EE\", \"FI\"]}");
    eh_identity *in = citizen("1990-01-01"), *out = NULL;
    eh_authn_request *req = request(NULL, 0);

    in->loa = EH_LOA_SUBSTANTIAL;
    ck_assert_int_eq(eh_policy_evaluate(p, req, in, 0, &out), EH_ERR_INVALID);
    in->loa = EH_LOA_HIGH;
    free(in->method);
    in->method = strdup("smart_id");
    ck_assert_int_eq(eh_policy_evaluate(p, req, in, 0, &out), EH_ERR_INVALID);
    free(in->method);
    in->method = strdup("mobile_id");
    free(in->country);
    in->country = strdup("LV");
    ck_assert_int_eq(eh_policy_evaluate(p, req, in, 0, &out), EH_ERR_INVALID);
    free(in->country);
    in->country = NULL;
    ck_assert_int_eq(eh_policy_evaluate(p, req, in, 0, &out), EH_ERR_INVALID);
    ck_assert_ptr_null(out);
    in->country = strdup("FI");
    out = evaluate(p, req, in, 0);
    eh_identity_free(out);

    ck_assert_int_eq(eh_policy_evaluate(NULL, req, in, 0, &out), EH_ERR_INVALID);
    ck_assert_int_eq(eh_policy_evaluate(p, req, NULL, 0, &out), EH_ERR_INVALID);
    eh_identity_free(in);
    eh_authn_request_free(req);
    eh_policy_free(p);
}
END_TEST

START_TEST(sources_and_extras_never_leave)
{
    const char *asks[] = {"age_over_18",   "age_band",     "country",
                          "date_of_birth", "phone_number", "is_resident_of_EE"};
    eh_policy *p = policy("{\"release\": [\"age_over_18\", \"age_band\", \"country\", "
                          "\"is_resident_of_EE\"]}");
    eh_identity *in = citizen("2012-05-05"), *out;
    eh_authn_request *req = request(asks, N_OF(asks));

    json_object_set_new(in->attributes, "country", json_string("FI"));
    json_object_set_new(in->attributes, "age_band", json_string("65+"));
    out = evaluate(p, req, in, at(2026, 5, 5, 0, 0, 0));
    ck_assert_str_eq(keys(out), "age_band,age_over_18,country,is_resident_of_EE");
    ck_assert(json_is_false(json_object_get(out->attributes, "age_over_18"))); /* not the forgery */
    ck_assert_str_eq(json_string_value(json_object_get(out->attributes, "age_band")), "0-17");
    ck_assert_str_eq(json_string_value(json_object_get(out->attributes, "country")), "EE");
    eh_identity_free(out);

    /* A null attribute is no attribute. */
    json_object_set_new(in->attributes, "given_name", json_null());
    eh_policy_free(p);
    p = profile("basic");
    eh_authn_request_free(req);
    req = request((const char *[]){"given_name", "family_name"}, 2);
    out = evaluate(p, req, in, 0);
    ck_assert_str_eq(keys(out), "family_name");
    eh_identity_free(out);

    eh_identity_free(in);
    eh_authn_request_free(req);
    eh_policy_free(p);
}
END_TEST

/* ------------------------------------------------------- the property test
 *
 * Random identities, requests and policies, checked against an independent
 * model written here: its own profile table, its own calendar (days since
 * the epoch, Howard Hinnant's algorithms) and its own idea of when an
 * attribute can be given. The seed is fixed (EH_PROPERTY_SEED overrides it)
 * and printed with every failure, so a failure can be replayed. */

#define PROPERTY_SEED UINT64_C(0x5eed20261123)
#define PROPERTY_POLICIES 3000 /* valid policies to test */
#define PROPERTY_TRIES 30000   /* random documents at most */
#define PROPERTY_RUNS 2        /* identities and requests per policy */

static uint64_t rng;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * UINT64_C(2685821657736338717);
}

static unsigned below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static int chance(unsigned percent)
{
    return below(100) < percent;
}

static int t_leap(int64_t y)
{
    return y % 400 == 0 || (y % 100 != 0 && y % 4 == 0);
}

/* t_days: days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t t_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* t_civil: the civil date of a day since 1970-01-01. */
static void t_civil(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t t_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* t_birthday: the day of the k-th birthday of someone born y-m-d, 29
 * February being 1 March in common years. */
static int64_t t_birthday(int y, int m, int d, int k)
{
    if (m == 2 && d == 29 && !t_leap(y + k))
        return t_days(y + k, 3, 1);
    return t_days(y + k, m, d);
}

/* t_age: whole years at now's day, -1 when born after it. */
static int t_age(int y, int m, int d, int64_t now)
{
    int64_t today = t_floor_div(now, 86400);
    int k = 0;
    if (t_days(y, m, d) > today)
        return -1;
    while (t_birthday(y, m, d, k + 1) <= today)
        k++;
    return k;
}

static const char *t_band(int age)
{
    if (age >= 65)
        return "65+";
    if (age >= 55)
        return "55-64";
    if (age >= 45)
        return "45-54";
    if (age >= 35)
        return "35-44";
    if (age >= 25)
        return "25-34";
    if (age >= 18)
        return "18-24";
    return "0-17";
}

static const char *const t_countries[] = {"EE", "LV", "LT", "FI", "SE", "DE"};
static const char *const t_natural[] = {"person_identifier", "family_name", "given_name",
                                        "date_of_birth",     "birth_name",  "place_of_birth",
                                        "current_address",   "gender"};

/* The model of one identity: what the test knows of it. */
typedef struct t_person {
    int dob_ok; /* date_of_birth present, a valid date */
    int by, bm, bd;
    int country_ok; /* country present, two capitals */
} t_person;

/* A random name of the universe a requester or policy draws from. */
static void random_derived(char *buf, size_t len)
{
    static const int ages[] = {16, 18, 21, 65};
    switch (below(4)) {
    case 0:
        snprintf(buf, len, "age_over_%d", chance(50) ? ages[below(4)] : 1 + (int)below(150));
        break;
    case 1:
        snprintf(buf, len, "age_band");
        break;
    case 2:
        snprintf(buf, len, "country");
        break;
    default:
        snprintf(buf, len, "is_resident_of_%s", t_countries[below(N_OF(t_countries))]);
        break;
    }
}

/* add_unique appends name to a (an array of strings) unless it is there. */
static void add_unique(json_t *a, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (strcmp(json_string_value(v), name) == 0)
            return;
    }
    json_array_append_new(a, json_string(name));
}

static int t_has(const json_t *a, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return 1;
    }
    return 0;
}

/* random_names returns a random set of registry and derived names. */
static json_t *random_names(unsigned registry_percent, unsigned derived_max)
{
    size_t n;
    const eh_attribute_def *attrs = eh_attributes(&n);
    json_t *a = json_array();
    char buf[64];

    for (size_t i = 0; i < n; i++) {
        if (chance(registry_percent))
            add_unique(a, attrs[i].name);
    }
    for (unsigned k = below(derived_max + 1); k > 0; k--) {
        random_derived(buf, sizeof(buf));
        add_unique(a, buf);
    }
    /* shuffle */
    for (size_t i = json_array_size(a); i > 1; i--) {
        size_t j = below((unsigned)i);
        json_t *x = json_incref(json_array_get(a, i - 1));
        json_array_set(a, i - 1, json_array_get(a, j));
        json_array_set_new(a, j, x);
    }
    return a;
}

/* random_identity builds an identity at now and its model; leap_birth
 * (a year, or 0) forces a date of birth on 29 February of that year. */
static eh_identity *random_identity(int64_t now, int leap_birth, t_person *model)
{
    static const char *const bad_dates[] = {"1990-02-30", "19900101",   "",
                                            "1990-13-01", "2001-02-29", "1990-1-1"};
    eh_identity *id = NULL;
    size_t n;
    const eh_attribute_def *attrs = eh_attributes(&n);
    int ny, nm, nd;
    char buf[64];

    memset(model, 0, sizeof(*model));
    ck_assert_int_eq(eh_identity_new(&id), EH_OK);
    if (chance(92)) {
        id->country = strdup(t_countries[below(N_OF(t_countries))]);
        model->country_ok = 1;
    } else if (chance(50)) {
        id->country = strdup("ee");
    }
    id->id_type = strdup("PNO");
    snprintf(buf, sizeof(buf), "%011" PRIu64, rnd() % UINT64_C(100000000000));
    id->id_value = strdup(buf);
    id->loa = chance(5) ? EH_LOA_NONE : (eh_loa)(1 + below(3));
    if (chance(90))
        id->method = strdup("mobile_id");
    else if (chance(50))
        id->method = strdup("smart_id");
    id->auth_time = now - (int64_t)below(600);

    for (size_t i = 0; i < n; i++) {
        const char *name = attrs[i].name;
        json_t *v;
        if (strcmp(name, "date_of_birth") == 0 && leap_birth != 0) {
            model->dob_ok = 1;
            model->by = leap_birth;
            model->bm = 2;
            model->bd = 29;
            snprintf(buf, sizeof(buf), "%04d-02-29", leap_birth);
            json_object_set_new(id->attributes, name, json_string(buf));
            continue;
        }
        if (!chance(55))
            continue;
        if (strcmp(name, "date_of_birth") == 0) {
            if (chance(8)) {
                v = chance(80) ? json_string(bad_dates[below(N_OF(bad_dates))])
                               : json_integer(19900101);
            } else {
                int64_t day;
                t_civil(t_floor_div(now, 86400), &ny, &nm, &nd);
                if (chance(40)) {
                    /* Around a birthday: N years before now's day, give or take, N often
                     * one that policies and requests name. */
                    static const int usual[] = {16, 18, 21, 65, 25, 35, 45, 55};
                    int years = chance(50) ? usual[below(N_OF(usual))] : (int)below(152);
                    day = t_days(ny - years, nm, nd > 28 ? 28 : nd) + (int64_t)below(5) - 2;
                } else if (chance(15)) {
                    /* Born on a 29 February. */
                    int y = ny - (int)below(100);
                    while (!t_leap(y))
                        y--;
                    day = t_days(y, 2, 29);
                } else {
                    day = t_days(ny - 152, 1, 1) + (int64_t)below(152 * 366 + 30);
                }
                t_civil(day, &model->by, &model->bm, &model->bd);
                snprintf(buf, sizeof(buf), "%04d-%02d-%02d", model->by, model->bm, model->bd);
                v = json_string(buf);
                model->dob_ok = 1;
            }
        } else if (strcmp(name, "gender") == 0) {
            v = json_string(chance(50) ? "Male" : "Female");
        } else if (chance(4)) {
            v = json_null();
        } else {
            snprintf(buf, sizeof(buf), "%s-%u", name, below(100000));
            v = json_string(buf);
        }
        json_object_set_new(id->attributes, name, v);
    }
    /* What a backend might carry that no policy names, and forgeries. */
    if (chance(50))
        json_object_set_new(id->attributes, "phone_number", json_string("+37200000766"));
    if (chance(30))
        json_object_set_new(id->attributes, "age_over_18", json_string("yes"));
    if (chance(30))
        json_object_set_new(id->attributes, "country", json_string("XX"));
    return id;
}

/* The model of a profile. */
typedef struct t_profile {
    const char *name;
    const char *const *release;
    size_t n_release;
    const char *const *always;
    size_t n_always;
    int is_public;
} t_profile;

static const char *const t_age_only[] = {"age_over_18"};
static const char *const t_basic[] = {"given_name", "family_name"};
static const t_profile t_profiles[] = {
    {"age-only", t_age_only, 1, t_age_only, 1, 0},
    {"basic", t_basic, 2, NULL, 0, 0},
    {"full", t_natural, N_OF(t_natural), NULL, 0, 1},
};

static json_t *t_list(const char *const *names, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

/* The model's resolved policy. */
typedef struct t_policy {
    json_t *release, *always, *methods, *countries;
    eh_loa min_loa;
    int is_public;
    int valid;
} t_policy;

/* random_policy returns a random document and the model's resolution. */
static json_t *random_policy(t_policy *m)
{
    static const char *const loas[] = {"none", "low", "substantial", "high"};
    json_t *doc = json_object(), *v;
    const t_profile *prof = NULL;
    int has_sector = 0;

    memset(m, 0, sizeof(*m));
    if (chance(40)) {
        prof = &t_profiles[below(N_OF(t_profiles))];
        json_object_set_new(doc, "profile", json_string(prof->name));
    }
    if (chance(75)) {
        v = random_names(30, 4);
        json_object_set_new(doc, "release", v);
        m->release = json_incref(v);
    } else {
        m->release = prof ? t_list(prof->release, prof->n_release) : json_array();
    }
    if (chance(50)) {
        size_t i;
        json_t *x;
        v = json_array();
        json_array_foreach(m->release, i, x) {
            if (chance(35))
                json_array_append(v, x);
        }
        if (chance(10)) {
            char buf[64];
            random_derived(buf, sizeof(buf));
            add_unique(v, buf);
        }
        json_object_set_new(doc, "release_always", v);
        m->always = json_incref(v);
    } else {
        m->always = prof ? t_list(prof->always, prof->n_always) : json_array();
    }
    m->min_loa = EH_LOA_NONE;
    if (chance(40)) {
        unsigned l = below(4);
        json_object_set_new(doc, "min_loa", json_string(loas[l]));
        m->min_loa = (eh_loa)l;
    }
    m->methods = json_array();
    if (chance(30)) {
        if (chance(60))
            json_array_append_new(m->methods, json_string("mobile_id"));
        json_object_set(doc, "methods", m->methods);
    }
    m->countries = json_array();
    if (chance(30)) {
        for (size_t i = 0; i < N_OF(t_countries); i++) {
            if (chance(40))
                json_array_append_new(m->countries, json_string(t_countries[i]));
        }
        json_object_set(doc, "countries", m->countries);
    }
    m->is_public = prof ? prof->is_public : 0;
    if (chance(50)) {
        m->is_public = chance(50);
        json_object_set_new(doc, "subject_type", json_string(m->is_public ? "public" : "pairwise"));
    }
    if (chance(20)) {
        char buf[32];
        has_sector = chance(80);
        snprintf(buf, sizeof(buf), "sector-%u", below(10));
        json_object_set_new(doc, "sector", has_sector ? json_string(buf) : json_null());
    }
    if (chance(30))
        json_object_set_new(doc, "consent", json_boolean(chance(50)));

    /* Valid unless one of the three whole-policy rules is broken. */
    m->valid = 1;
    size_t i;
    json_t *x;
    json_array_foreach(m->always, i, x) {
        if (!t_has(m->release, json_string_value(x)))
            m->valid = 0;
    }
    if (!m->is_public &&
        (t_has(m->release, "person_identifier") || t_has(m->release, "legal_person_identifier") ||
         t_has(m->always, "person_identifier") || t_has(m->always, "legal_person_identifier")))
        m->valid = 0;
    if (has_sector && m->is_public)
        m->valid = 0;
    return doc;
}

static void t_policy_clear(t_policy *m)
{
    json_decref(m->release);
    json_decref(m->always);
    json_decref(m->methods);
    json_decref(m->countries);
}

/* same_set tells whether two arrays of strings hold the same names. */
static int same_set(const json_t *a, const json_t *b)
{
    size_t i;
    json_t *v;
    if (json_array_size(a) != json_array_size(b))
        return 0;
    json_array_foreach(a, i, v) {
        if (!t_has(b, json_string_value(v)))
            return 0;
    }
    return 1;
}

/* t_expected: the value the model says name must be released with, or
 * NULL when the identity cannot give it (new reference). */
static json_t *t_expected(const char *name, const eh_identity *in, const t_person *pm, int64_t now)
{
    if (eh_attribute_find(name) != NULL) {
        json_t *v = json_object_get(in->attributes, name);
        return v == NULL || json_is_null(v) ? NULL : json_incref(v);
    }
    if (strncmp(name, "age_over_", 9) == 0 || strcmp(name, "age_band") == 0) {
        int age = pm->dob_ok ? t_age(pm->by, pm->bm, pm->bd, now) : -1;
        if (age < 0)
            return NULL;
        if (strcmp(name, "age_band") == 0)
            return json_string(t_band(age));
        int n = atoi(name + 9);
        /* Directly: is the n-th birthday's day at or before now's day? */
        int over = t_birthday(pm->by, pm->bm, pm->bd, n) <= t_floor_div(now, 86400);
        ck_assert_int_eq(over, age >= n);
        return json_boolean(over);
    }
    if (!pm->country_ok)
        return NULL;
    if (strcmp(name, "country") == 0)
        return json_string(in->country);
    ck_assert(strncmp(name, "is_resident_of_", 15) == 0);
    return json_boolean(strcmp(in->country, name + 15) == 0);
}

static int t_str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

START_TEST(property_nothing_outside_the_policy_leaves)
{
    uint64_t seed = PROPERTY_SEED;
    const char *env = getenv("EH_PROPERTY_SEED");
    unsigned tried = 0, valid = 0, runs = 0, refused = 0, released = 0, derived = 0, dob_out = 0;

    if (env != NULL)
        seed = strtoull(env, NULL, 0);
    rng = seed ? seed : 1;
    while (valid < PROPERTY_POLICIES && tried < PROPERTY_TRIES) {
        t_policy m;
        json_t *doc = random_policy(&m);
        eh_policy *p = NULL;
        char err[512] = "";
        eh_rc rc = eh_policy_from_json("rp", 1, doc, &p, err, sizeof(err));

        tried++;
        ck_assert_msg((rc == EH_OK) == m.valid,
                      "seed %#" PRIx64 " try %u: the parser %s (%s), the model %s", seed, tried,
                      rc == EH_OK ? "accepts" : "refuses", err, m.valid ? "accepts" : "refuses");
        if (rc != EH_OK) {
            ck_assert_msg(err[0] == '$' && strchr(err, '\n') == NULL, "seed %#" PRIx64 ": %s", seed,
                          err);
            json_decref(doc);
            t_policy_clear(&m);
            continue;
        }
        valid++;
        ck_assert_msg(same_set(p->release, m.release) && same_set(p->release_always, m.always) &&
                          same_set(p->methods, m.methods) && same_set(p->countries, m.countries) &&
                          p->min_loa == m.min_loa &&
                          (p->subject_type == EH_SUBJECT_PUBLIC) == m.is_public,
                      "seed %#" PRIx64 " try %u: resolution differs from the model", seed, tried);

        for (int r = 0; r < PROPERTY_RUNS; r++) {
            /* now: 1990 to 2060, often at the edges of a day. */
            int64_t now = at(1990, 1, 1, 0, 0, 0) + (int64_t)(rnd() % (UINT64_C(70) * 366 * 86400));
            if (chance(15)) {
                /* Around 29 February: from 27 February to 2 March of some year. */
                int y, mo, d;
                t_civil(t_floor_div(now, 86400), &y, &mo, &d);
                now = (t_days(y, 2, 27) + (int64_t)below(5)) * 86400 + (int64_t)below(86400);
            }
            if (chance(30))
                now = t_floor_div(now, 86400) * 86400 + (chance(50) ? 0 : 86399);
            int leap_birth = 0;
            if (chance(10)) {
                /* Born on 29 February k years before a day around it, k a usual age. */
                static const int usual[] = {16, 18, 21, 65, 25, 35, 45, 55};
                int k = usual[below(N_OF(usual))], y = 1990 + (int)below(70);
                leap_birth = y - k;
                while (!t_leap(leap_birth))
                    leap_birth--;
                y = leap_birth + k;
                now = (t_days(y, 2, 28) + (int64_t)below(t_leap(y) ? 3 : 2)) * 86400 +
                      (int64_t)below(86400);
            }
            t_person pm;
            eh_identity *in = random_identity(now, leap_birth, &pm), *out = NULL;
            eh_authn_request *req = NULL;
            const char *junk[] = {"shoe_size", "birthdate", "age_over_0", "phone_number"};
            size_t i;
            json_t *v;
            const char *k;
            int allowed;

            ck_assert_int_eq(eh_authn_request_new(&req), EH_OK);
            json_decref(req->requested);
            req->requested = random_names(35, 5);
            if (chance(20))
                json_array_append_new(req->requested, json_string(junk[below(N_OF(junk))]));

            allowed = in->loa != EH_LOA_NONE && in->loa >= m.min_loa && in->method != NULL &&
                      (json_array_size(m.methods) == 0 || t_has(m.methods, in->method)) &&
                      in->country != NULL &&
                      (json_array_size(m.countries) == 0 || t_has(m.countries, in->country));
            rc = eh_policy_evaluate(p, req, in, now, &out);
            runs++;
            if (!allowed) {
                ck_assert_msg(rc == EH_ERR_INVALID && out == NULL,
                              "seed %#" PRIx64 " try %u run %d: identity outside the policy "
                              "accepted",
                              seed, tried, r);
                refused++;
            } else {
                ck_assert_msg(rc == EH_OK, "seed %#" PRIx64 " try %u run %d: rc %d", seed, tried, r,
                              rc);
                /* The subject and the facts of the login travel on. */
                ck_assert_msg(t_str_eq(out->country, in->country) &&
                                  t_str_eq(out->id_type, in->id_type) &&
                                  t_str_eq(out->id_value, in->id_value) &&
                                  t_str_eq(out->method, in->method) && out->loa == in->loa &&
                                  out->auth_time == in->auth_time,
                              "seed %#" PRIx64 " try %u run %d: subject changed", seed, tried, r);
                /* 1. Nothing outside (requested ∩ release) ∪ release_always. */
                json_object_foreach(out->attributes, k, v) {
                    ck_assert_msg((t_has(req->requested, k) && t_has(m.release, k)) ||
                                      t_has(m.always, k),
                                  "seed %#" PRIx64 " try %u run %d: %s left outside the policy",
                                  seed, tried, r, k);
                    released++;
                }
                /* 2. No source leaks: the birth date only when itself allowed. */
                if (json_object_get(out->attributes, "date_of_birth") != NULL) {
                    ck_assert_msg(t_has(m.always, "date_of_birth") ||
                                      (t_has(m.release, "date_of_birth") &&
                                       t_has(req->requested, "date_of_birth")),
                                  "seed %#" PRIx64 " try %u run %d: date_of_birth leaked", seed,
                                  tried, r);
                    dob_out++;
                }
                ck_assert_msg(json_object_get(out->attributes, "phone_number") == NULL,
                              "seed %#" PRIx64 ": phone_number leaked", seed);
                /* 3. Every allowed attribute the identity can give is given, right. */
                json_array_foreach(m.release, i, v) {
                    const char *name = json_string_value(v);
                    json_t *want, *got;
                    if (!t_has(req->requested, name) && !t_has(m.always, name))
                        continue;
                    want = t_expected(name, in, &pm, now);
                    got = json_object_get(out->attributes, name);
                    if (want == NULL ? got != NULL : got == NULL || !json_equal(want, got)) {
                        char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
                        char *w = want ? json_dumps(want, JSON_ENCODE_ANY) : NULL;
                        ck_abort_msg("seed %#" PRIx64 " try %u run %d: %s is %s, the model says "
                                     "%s (now %" PRId64 ")",
                                     seed, tried, r, name, g ? g : "missing", w ? w : "not given",
                                     now);
                    }
                    derived += want != NULL && eh_attribute_find(name) == NULL;
                    json_decref(want);
                }
                eh_identity_free(out);
            }
            eh_identity_free(in);
            eh_authn_request_free(req);
        }
        eh_policy_free(p);
        json_decref(doc);
        t_policy_clear(&m);
    }
    ck_assert_msg(valid == PROPERTY_POLICIES,
                  "seed %#" PRIx64 ": only %u valid policies in %u tries", seed, valid, tried);
    /* The runs must have exercised each side, not vacuously passed. */
    ck_assert_msg(refused > runs / 20 && refused < runs / 2, "seed %#" PRIx64 ": %u of %u refused",
                  seed, refused, runs);
    ck_assert_msg(released > runs / 2 && derived > runs / 10 && dob_out > 10,
                  "seed %#" PRIx64 ": %u released, %u derived, %u birth dates in %u runs", seed,
                  released, derived, dob_out, runs);
    ck_assert_msg(tried > valid, "seed %#" PRIx64 ": no invalid policy was ever drawn", seed);
}
END_TEST

Suite *suite_evaluate(void)
{
    Suite *s = suite_create("evaluate");
    TCase *tc = tcase_create("evaluate");
    tcase_add_test(tc, bar_learns_only_the_age);
    tcase_add_test(tc, tax_office_gets_the_full_profile);
    tcase_add_test(tc, youth_services_sector);
    tcase_add_test(tc, identities_outside_the_policy_are_refused);
    tcase_add_test(tc, sources_and_extras_never_leave);
    suite_add_tcase(s, tc);
    tc = tcase_create("property");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, property_nothing_outside_the_policy_leaves);
    suite_add_tcase(s, tc);
    return s;
}
