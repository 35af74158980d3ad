/* eidhubctl: the administrator's command-line tool.
 *
 *     eidhubctl keygen [--rsa [--bits N]] FILE   write a new signing key
 *     eidhubctl config check FILE                 validate a configuration
 *     eidhubctl jwks FILE                         print a configuration's JWK Set
 *     eidhubctl secretgen FILE                    write a secret for pairwise subjects
 *     eidhubctl client-secret                     make a client secret and its hash
 *     eidhubctl secret-hash                       hash a client secret read from stdin
 *     eidhubctl passwd                            hash an administrator's password from stdin
 *     eidhubctl audit verify|head|checkpoint ...  check the audit log, print its head, sign it
 *
 * Exit status: 0 success, 1 the operation failed (one line on stderr),
 * 2 misuse (usage on stderr). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/audit.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "broker/keys.h"
#include "broker/log.h"
#include "broker/rc.h"
#include "broker/secret.h"
#include "policies/admin_auth.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define EH_CTL_OK 0
#define EH_CTL_FAILED 1
#define EH_CTL_USAGE 2

#define EH_CTL_RSA_DEFAULT_BITS 3072

static const char eh_ctl_usage_text[] =
    "Usage: eidhubctl [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  keygen [--rsa [--bits N]] FILE\n"
    "      Write a new private signing key to FILE (PKCS#8 PEM, mode 0600; an\n"
    "      existing FILE is never overwritten) and print its kid. The key is\n"
    "      EC P-256 (ES256) unless --rsa asks for RSA (PS256) of N bits\n"
    "      (default 3072, at least 3072).\n"
    "  config check FILE\n"
    "      Load the broker configuration FILE and every key it names; print a\n"
    "      summary and exit 0, or print the one error line and exit 1.\n"
    "  jwks FILE\n"
    "      Print the public JWK Set of the keys of the configuration FILE.\n"
    "  secretgen FILE\n"
    "      Write a new random secret for pairwise subjects to FILE (mode 0600,\n"
    "      never overwriting), for the configuration's subject_secret_file.\n"
    "  client-secret\n"
    "      Print a new random client secret (give it to the relying party) and\n"
    "      its client_secret_sha256 (put that in the configuration).\n"
    "  secret-hash\n"
    "      Read a client secret from standard input and print its\n"
    "      client_secret_sha256.\n"
    "  passwd\n"
    "      Read an administrator's password (one line) from standard input and\n"
    "      print its password_hash (scrypt) for the configuration's\n"
    "      admin.accounts.\n"
    "  audit verify [--jwks JWKS_FILE]... [--config BROKER_JSON] [--head HASH] [FILE]\n"
    "      Check the audit log FILE (default: the configuration's audit.file):\n"
    "      seq continuity, the chain of hashes, and every checkpoint's signature\n"
    "      against the keys of the JWK Set files or of the configuration. With\n"
    "      --head, the log must still hold that published head. Prints \"FILE: N\n"
    "      entries, chain intact, ...\" and exits 0, or names the first bad line\n"
    "      and exits 1.\n"
    "  audit head FILE\n"
    "      Print the head of the audit log FILE (the hash of its last line), to\n"
    "      publish.\n"
    "  audit checkpoint BROKER_JSON\n"
    "      Append a checkpoint signed with the configuration's active key to its\n"
    "      audit log (which must exist) and print the new head.\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 misuse.\n";

/* eh_ctl_usage prints the usage text to out and returns status, so that a
 * command can end with `return eh_ctl_usage(...)`. */
static int eh_ctl_usage(FILE *out, int status)
{
    fputs(eh_ctl_usage_text, out);
    return status;
}

/* eh_ctl_parse_bits parses a decimal RSA modulus size from text into *bits;
 * returns 0 on success, -1 for anything that is not a plain number. */
static int eh_ctl_parse_bits(const char *text, unsigned *bits)
{
    char *end = NULL;
    unsigned long v;

    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > 1000000UL)
        return -1;
    *bits = (unsigned)v;
    return 0;
}

/* eh_ctl_keygen runs `keygen [--rsa [--bits N]] FILE` (argv[0] is "keygen"):
 * eh_key_generate writes the key, which is then loaded back, as the broker
 * would, to print its kid. */
static int eh_ctl_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rsa", no_argument, NULL, 'r'},
        {"bits", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int status = EH_CTL_OK;
    eh_key_type type = EH_KEY_EC_P256;
    unsigned bits = EH_CTL_RSA_DEFAULT_BITS;
    int bits_given = 0;
    const char *file;
    eh_keyset *ks = NULL;
    char err[1024] = "";
    eh_rc rc;
    int c;

    optind = 0; /* glibc: restart scanning on this argument vector */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            type = EH_KEY_RSA;
            break;
        case 'b':
            if (eh_ctl_parse_bits(optarg, &bits) != 0) {
                fprintf(stderr, "eidhubctl: keygen: --bits needs a number, not \"%s\"\n", optarg);
                status = eh_ctl_usage(stderr, EH_CTL_USAGE);
                goto cleanup;
            }
            bits_given = 1;
            break;
        case 'h':
            status = eh_ctl_usage(stdout, EH_CTL_OK);
            goto cleanup;
        default:
            status = eh_ctl_usage(stderr, EH_CTL_USAGE);
            goto cleanup;
        }
    }
    if (bits_given && type != EH_KEY_RSA) {
        fprintf(stderr, "eidhubctl: keygen: --bits only applies to --rsa\n");
        status = eh_ctl_usage(stderr, EH_CTL_USAGE);
        goto cleanup;
    }
    if (argc - optind != 1) {
        fprintf(stderr, "eidhubctl: keygen: expected one FILE\n");
        status = eh_ctl_usage(stderr, EH_CTL_USAGE);
        goto cleanup;
    }
    file = argv[optind];

    rc = eh_key_generate(type, bits, file, err, sizeof(err));
    if (rc != EH_OK) {
        fprintf(stderr, "eidhubctl: %s\n", err[0] ? err : eh_strerror(rc));
        status = EH_CTL_FAILED;
        goto cleanup;
    }
    rc = eh_keyset_new(&ks);
    if (rc == EH_OK)
        rc = eh_keyset_add_pem(ks, file, 1, err, sizeof(err));
    if (rc != EH_OK) {
        fprintf(stderr, "eidhubctl: %s\n", err[0] ? err : eh_strerror(rc));
        status = EH_CTL_FAILED;
        goto cleanup;
    }
    printf("%s\n", eh_key_kid_get(eh_keyset_at(ks, 0)));

cleanup:
    eh_keyset_free(ks);
    return status;
}

/* eh_ctl_load_config parses `[--help] FILE` in argv (argv[0] is the last
 * word of the command, name is the command for messages) and loads FILE
 * with eh_broker_load into *out (caller owns, eh_broker_free) and FILE's
 * name into *file (borrowed from argv). Returns an exit status; *out stays
 * NULL when the status is not EH_CTL_OK or when --help was printed, and any
 * error or usage has been printed already. */
static int eh_ctl_load_config(int argc, char **argv, const char *name, eh_broker **out,
                              const char **file)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[1024] = "";
    eh_rc rc;
    int c;

    optind = 0; /* glibc: restart scanning on this argument vector */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (c == 'h')
            return eh_ctl_usage(stdout, EH_CTL_OK);
        return eh_ctl_usage(stderr, EH_CTL_USAGE);
    }
    if (argc - optind != 1) {
        fprintf(stderr, "eidhubctl: %s: expected one configuration FILE\n", name);
        return eh_ctl_usage(stderr, EH_CTL_USAGE);
    }
    *file = argv[optind];
    rc = eh_broker_load(*file, out, err, sizeof(err));
    if (rc != EH_OK) {
        fprintf(stderr, "%s\n", err[0] ? err : eh_strerror(rc));
        return EH_CTL_FAILED;
    }
    return EH_CTL_OK;
}

/* eh_ctl_config_check runs `config check FILE` (argv[0] "config", argv[1]
 * "check"): loads the configuration and its keys as the broker does and
 * prints a one-line summary. */
static int eh_ctl_config_check(int argc, char **argv)
{
    int status;
    eh_broker *b = NULL;
    const char *file = NULL;
    const struct eh_config *cfg;
    const struct eh_keyset *ks;

    status = eh_ctl_load_config(argc - 1, argv + 1, "config check", &b, &file);
    if (status != EH_CTL_OK || !b)
        goto cleanup;
    cfg = eh_broker_config_get(b);
    ks = eh_broker_keys_get(b);
    printf("%s: configuration OK (%zu keys, active kid %s, %zu relying parties)\n", file,
           eh_keyset_count(ks), eh_key_kid_get(eh_keyset_active_get(ks)), cfg->n_rps);

cleanup:
    eh_broker_free(b);
    return status;
}

/* eh_ctl_jwks runs `jwks FILE` (argv[0] "jwks"): prints the public JWK Set
 * of the configuration's keys, as the broker publishes it. */
static int eh_ctl_jwks(int argc, char **argv)
{
    int status;
    eh_broker *b = NULL;
    const char *file = NULL;
    char *jwks = NULL;
    eh_rc rc;

    status = eh_ctl_load_config(argc, argv, "jwks", &b, &file);
    if (status != EH_CTL_OK || !b)
        goto cleanup;
    rc = eh_keyset_jwks_json(eh_broker_keys_get(b), &jwks);
    if (rc != EH_OK) {
        fprintf(stderr, "eidhubctl: %s: %s\n", file, eh_strerror(rc));
        status = EH_CTL_FAILED;
        goto cleanup;
    }
    printf("%s\n", jwks);

cleanup:
    free(jwks);
    eh_broker_free(b);
    return status;
}

/* eh_ctl_secretgen runs `secretgen FILE`. */
static int eh_ctl_secretgen(int argc, char **argv)
{
    char err[512];
    if (argc != 2)
        return eh_ctl_usage(stderr, EH_CTL_USAGE);
    if (eh_secret_file_create(argv[1], err, sizeof(err)) != EH_OK) {
        fprintf(stderr, "eidhubctl: %s\n", err);
        return EH_CTL_FAILED;
    }
    return EH_CTL_OK;
}

/* eh_ctl_client_secret runs `client-secret`: a new secret and its hash. */
static int eh_ctl_client_secret(int argc, char **argv)
{
    char *secret = NULL, hex[EH_SHA256_HEX_SIZE];
    (void)argv;
    if (argc != 1)
        return eh_ctl_usage(stderr, EH_CTL_USAGE);
    if (eh_secret_new(&secret) != EH_OK || eh_secret_sha256_hex(secret, hex) != EH_OK) {
        free(secret);
        fprintf(stderr, "eidhubctl: cannot make a random secret\n");
        return EH_CTL_FAILED;
    }
    printf("client_secret: %s\nclient_secret_sha256: %s\n", secret, hex);
    free(secret);
    return EH_CTL_OK;
}

/* eh_ctl_secret_hash runs `secret-hash`: the hash of the secret on stdin
 * (one line; the newline is not part of it). */
static int eh_ctl_secret_hash(int argc, char **argv)
{
    char line[1024], hex[EH_SHA256_HEX_SIZE];
    size_t n;
    (void)argv;
    if (argc != 1)
        return eh_ctl_usage(stderr, EH_CTL_USAGE);
    if (fgets(line, sizeof(line), stdin) == NULL) {
        fprintf(stderr, "eidhubctl: no secret on standard input\n");
        return EH_CTL_FAILED;
    }
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    if (n == 0 || eh_secret_sha256_hex(line, hex) != EH_OK) {
        fprintf(stderr, "eidhubctl: no secret on standard input\n");
        return EH_CTL_FAILED;
    }
    printf("%s\n", hex);
    return EH_CTL_OK;
}

/* eh_ctl_passwd runs `passwd`: the scrypt password_hash of the password on
 * stdin (one line; the newline is not part of it). */
static int eh_ctl_passwd(int argc, char **argv)
{
    char line[1024], *hash = NULL;
    int status = EH_CTL_FAILED;
    size_t n;

    (void)argv;
    if (argc != 1)
        return eh_ctl_usage(stderr, EH_CTL_USAGE);
    if (fgets(line, sizeof(line), stdin) == NULL) {
        fprintf(stderr, "eidhubctl: no password on standard input\n");
        goto cleanup;
    }
    n = strcspn(line, "\r\n");
    if (line[n] == '\0' && n == sizeof(line) - 1) {
        fprintf(stderr, "eidhubctl: the password is longer than %zu characters\n",
                sizeof(line) - 2);
        goto cleanup;
    }
    line[n] = '\0';
    if (n == 0) {
        fprintf(stderr, "eidhubctl: no password on standard input\n");
        goto cleanup;
    }
    if (eh_admin_password_hash(line, &hash) != EH_OK) {
        fprintf(stderr, "eidhubctl: cannot hash the password\n");
        goto cleanup;
    }
    printf("%s\n", hash);
    status = EH_CTL_OK;
cleanup:
    OPENSSL_cleanse(line, sizeof(line));
    free(hash);
    return status;
}

/* eh_ctl_read_file reads the whole file at path (at most 1 MiB) into a
 * new NUL-terminated string (*out); prints the reason and returns -1 when
 * it cannot. */
static int eh_ctl_read_file(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    size_t max = 1024 * 1024, n;
    char *text = NULL;
    int status = -1;

    if (f == NULL) {
        fprintf(stderr, "eidhubctl: %s: %s\n", path, strerror(errno));
        goto cleanup;
    }
    if ((text = malloc(max + 1)) == NULL)
        goto cleanup;
    n = fread(text, 1, max + 1, f);
    if (ferror(f) || n > max) {
        fprintf(stderr, "eidhubctl: %s: %s\n", path, ferror(f) ? strerror(errno) : "too large");
        goto cleanup;
    }
    text[n] = '\0';
    *out = text;
    text = NULL;
    status = 0;
cleanup:
    free(text);
    if (f != NULL)
        fclose(f);
    return status;
}

/* eh_ctl_add_jwks appends the keys of the JWK Set text jwks (named what,
 * for messages) to the array all; returns -1 (printed) when it is not one. */
static int eh_ctl_add_jwks(json_t *all, const char *jwks, const char *what)
{
    json_t *set = json_loads(jwks, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(set, "keys");
    int status = -1;

    if (!json_is_array(keys)) {
        fprintf(stderr, "eidhubctl: %s: not a JWK Set (an object with a \"keys\" array)\n", what);
        goto cleanup;
    }
    if (json_array_extend(all, keys) != 0)
        goto cleanup;
    status = 0;
cleanup:
    json_decref(set);
    return status;
}

/* eh_ctl_audit_verify runs `audit verify [--jwks F]... [--config F]
 * [--head H] [FILE]` (argv[0] "verify"). */
static int eh_ctl_audit_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"jwks", required_argument, NULL, 'j'},
        {"config", required_argument, NULL, 'c'},
        {"head", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *head = NULL, *file = NULL;
    json_t *keys = json_array(), *set = NULL;
    char *text = NULL, *jwks = NULL, err[1024] = "";
    eh_broker *b = NULL;
    int status = EH_CTL_FAILED, any_keys = 0;
    eh_audit_report report;
    eh_rc rc;
    int c;

    if (keys == NULL)
        goto cleanup;
    optind = 0; /* glibc: restart scanning on this argument vector */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            free(text);
            text = NULL;
            if (eh_ctl_read_file(optarg, &text) != 0 || eh_ctl_add_jwks(keys, text, optarg) != 0)
                goto cleanup;
            any_keys = 1;
            break;
        case 'c':
            config = optarg;
            break;
        case 'H':
            head = optarg;
            break;
        case 'h':
            status = eh_ctl_usage(stdout, EH_CTL_OK);
            goto cleanup;
        default:
            status = eh_ctl_usage(stderr, EH_CTL_USAGE);
            goto cleanup;
        }
    }
    if (argc - optind > 1 || (argc - optind == 0 && config == NULL)) {
        fprintf(stderr, "eidhubctl: audit verify: expected one FILE (or --config)\n");
        status = eh_ctl_usage(stderr, EH_CTL_USAGE);
        goto cleanup;
    }
    if (config != NULL) {
        rc = eh_broker_load(config, &b, err, sizeof(err));
        if (rc != EH_OK) {
            fprintf(stderr, "%s\n", err[0] ? err : eh_strerror(rc));
            goto cleanup;
        }
        if (eh_ctl_add_jwks(keys, eh_broker_jwks_get(b), config) != 0)
            goto cleanup;
        any_keys = 1;
        if (argc - optind == 0 && eh_broker_audit_get(b) == NULL) {
            fprintf(stderr, "eidhubctl: %s: no audit member: give the log FILE\n", config);
            goto cleanup;
        }
        if (argc - optind == 0)
            file = eh_audit_file_get(eh_broker_audit_get(b));
    }
    if (file == NULL)
        file = argv[optind];
    if (any_keys && ((set = json_pack("{s:O}", "keys", keys)) == NULL ||
                     (jwks = json_dumps(set, JSON_COMPACT)) == NULL))
        goto cleanup;
    rc = eh_audit_verify(file, jwks, head, &report);
    if (rc == EH_ERR_IO) {
        fprintf(stderr, "eidhubctl: %s\n", report.problem);
        goto cleanup;
    }
    if (rc != EH_OK) {
        fprintf(stderr, "%s: %s\n", file, report.problem[0] ? report.problem : eh_strerror(rc));
        goto cleanup;
    }
    printf("%s: %lld entries, chain intact, ", file, (long long)report.entries);
    if (report.last_checkpoint_seq > 0)
        printf("last checkpoint at seq %lld", (long long)report.last_checkpoint_seq);
    else
        printf("no checkpoint yet");
    printf(", head %s%s\n", report.head, head ? ", published head found" : "");
    status = EH_CTL_OK;
cleanup:
    free(text);
    free(jwks);
    json_decref(set);
    json_decref(keys);
    eh_broker_free(b);
    return status;
}

/* eh_ctl_audit_head runs `audit head FILE` (argv[0] "head"). */
static int eh_ctl_audit_head(int argc, char **argv)
{
    char head[EH_AUDIT_HASH_SIZE], err[1024];

    if (argc != 2)
        return eh_ctl_usage(stderr, EH_CTL_USAGE);
    if (eh_audit_head(argv[1], head, err, sizeof(err)) != EH_OK) {
        fprintf(stderr, "eidhubctl: %s\n", err);
        return EH_CTL_FAILED;
    }
    printf("%s\n", head);
    return EH_CTL_OK;
}

/* eh_ctl_audit_checkpoint runs `audit checkpoint BROKER_JSON` (argv[0]
 * "checkpoint"): a signed checkpoint now, then the head to publish. */
static int eh_ctl_audit_checkpoint(int argc, char **argv)
{
    int status;
    eh_broker *b = NULL;
    const eh_audit *audit;
    const char *file = NULL;
    char head[EH_AUDIT_HASH_SIZE], err[1024];
    int64_t seq = 0;
    eh_rc rc;

    status = eh_ctl_load_config(argc, argv, "audit checkpoint", &b, &file);
    if (status != EH_CTL_OK || !b)
        goto cleanup;
    status = EH_CTL_FAILED;
    if ((audit = eh_broker_audit_get(b)) == NULL) {
        fprintf(stderr, "eidhubctl: %s: no audit member\n", file);
        goto cleanup;
    }
    rc = eh_audit_checkpoint(audit, &seq);
    if (rc != EH_OK) {
        fprintf(stderr, "eidhubctl: %s: cannot append a checkpoint: %s\n",
                eh_audit_file_get(audit),
                rc == EH_ERR_NOT_FOUND ? "the log does not exist yet" : eh_strerror(rc));
        goto cleanup;
    }
    if (eh_audit_head(eh_audit_file_get(audit), head, err, sizeof(err)) != EH_OK) {
        fprintf(stderr, "eidhubctl: %s\n", err);
        goto cleanup;
    }
    printf("%s: checkpoint at seq %lld, head %s\n", eh_audit_file_get(audit), (long long)seq,
           head);
    status = EH_CTL_OK;
cleanup:
    eh_broker_free(b);
    return status;
}

/* eh_ctl_audit runs `audit verify|head|checkpoint ...` (argv[0] "audit"). */
static int eh_ctl_audit(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return eh_ctl_audit_verify(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "head") == 0)
        return eh_ctl_audit_head(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "checkpoint") == 0)
        return eh_ctl_audit_checkpoint(argc - 1, argv + 1);
    fprintf(stderr, "eidhubctl: audit: expected verify, head or checkpoint\n");
    return eh_ctl_usage(stderr, EH_CTL_USAGE);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int status;
    int c;
    int n;
    char **cmd;

    /* Core warnings (a key file others can read) are worth showing; info is not. */
    eh_log_set_sink(NULL, NULL, EH_LOG_WARN);

    while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            return eh_ctl_usage(stdout, EH_CTL_OK);
        case 'V':
            printf("eidhubctl %s\n", PACKAGE_VERSION);
            return EH_CTL_OK;
        default:
            return eh_ctl_usage(stderr, EH_CTL_USAGE);
        }
    }
    n = argc - optind;
    cmd = argv + optind;
    if (n < 1) {
        fprintf(stderr, "eidhubctl: no command given\n");
        return eh_ctl_usage(stderr, EH_CTL_USAGE);
    }

    if (strcmp(cmd[0], "keygen") == 0) {
        status = eh_ctl_keygen(n, cmd);
    } else if (strcmp(cmd[0], "config") == 0 && n >= 2 && strcmp(cmd[1], "check") == 0) {
        status = eh_ctl_config_check(n, cmd);
    } else if (strcmp(cmd[0], "jwks") == 0) {
        status = eh_ctl_jwks(n, cmd);
    } else if (strcmp(cmd[0], "secretgen") == 0) {
        status = eh_ctl_secretgen(n, cmd);
    } else if (strcmp(cmd[0], "client-secret") == 0) {
        status = eh_ctl_client_secret(n, cmd);
    } else if (strcmp(cmd[0], "secret-hash") == 0) {
        status = eh_ctl_secret_hash(n, cmd);
    } else if (strcmp(cmd[0], "passwd") == 0) {
        status = eh_ctl_passwd(n, cmd);
    } else if (strcmp(cmd[0], "audit") == 0) {
        status = eh_ctl_audit(n, cmd);
    } else if (strcmp(cmd[0], "config") == 0) {
        fprintf(stderr, "eidhubctl: config: expected \"check\"%s%s\n", n >= 2 ? ", not " : "",
                n >= 2 ? cmd[1] : "");
        return eh_ctl_usage(stderr, EH_CTL_USAGE);
    } else {
        fprintf(stderr, "eidhubctl: unknown command \"%s\"\n", cmd[0]);
        return eh_ctl_usage(stderr, EH_CTL_USAGE);
    }

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "eidhubctl: cannot write to standard output: %s\n", strerror(errno));
        return EH_CTL_FAILED;
    }
    return status;
}
