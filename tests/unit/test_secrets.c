/*
 * Unit tests for gateway/secrets.c: first-start generation (0600, parent folder created,
 * atomic), reload stability, rotation files, file-mode policy, and file:line:column errors.
 * Every test works in its own mkdtemp() folder under $TMPDIR (default /tmp).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include "secrets.h"

/* two fixed secrets and their base64url forms */
#define SECRET_A_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" /* bytes 0..31 */
#define SECRET_B_B64 "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8" /* bytes 32..63 */

static char tmpdir[256];

static int
setup(void **state)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/cg-secrets-XXXXXX", base != NULL ? base : "/tmp");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static size_t
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            ++n;
    closedir(d);
    return n;
}

/* signs with a's primary, verifies with b's keys */
static gw_token_status_t
cross_verify(const gw_secrets_t *a, const gw_secrets_t *b)
{
    gw_token_t t = {.granted = 5, .policy_version = 1, .issued = 100, .expires = 200}, out;
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    assert_int_equal(gw_token_encode(&t, gw_secrets_primary(a), enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    return gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, b->keys, b->num_keys, 150, 1, &out);
}

static void
test_generate_and_reload(void **state)
{
    char dir[300], path[350], err[512];
    struct stat st;
    gw_secrets_t s1, s2;

    snprintf(dir, sizeof(dir), "%s/var/lib", tmpdir);
    snprintf(path, sizeof(path), "%s/secrets.json", dir);
    assert_int_equal(gw_secrets_load(path, &s1, err, sizeof(err)), 0);
    assert_int_equal(s1.created, 1);
    assert_int_equal(s1.num_keys, 1);
    assert_int_equal(gw_secrets_primary(&s1)->id, 1);
    assert_int_equal(gw_secrets_link_key(&s1)->id, 1);

    /* the file is 0600, its missing parents were created 0700, no temporary file is left */
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(count_entries(dir), 1);

    /* reload: not created again, same key */
    assert_int_equal(gw_secrets_reload(path, &s2, err, sizeof(err)), 0);
    assert_int_equal(s2.created, 0);
    assert_int_equal(cross_verify(&s1, &s2), GW_TOKEN_OK);
    gw_secrets_clear(&s2);
    assert_int_equal(gw_secrets_load(path, &s2, err, sizeof(err)), 0);
    assert_int_equal(s2.created, 0);
    assert_int_equal(cross_verify(&s1, &s2), GW_TOKEN_OK);
    uint8_t m1[32], m2[32];
    gw_token_hmac(gw_secrets_link_key(&s1), "link", 4, m1);
    gw_token_hmac(gw_secrets_link_key(&s2), "link", 4, m2);
    assert_memory_equal(m1, m2, 32);

    /* a second generated file holds a different key */
    char path2[350];
    gw_secrets_t s3;
    snprintf(path2, sizeof(path2), "%s/other.json", tmpdir);
    assert_int_equal(gw_secrets_load(path2, &s3, err, sizeof(err)), 0);
    assert_int_equal(s3.created, 1);
    assert_int_equal(cross_verify(&s1, &s3), GW_TOKEN_BAD_MAC);

    /* a reload of a file that went: an error, and no file made in its place */
    gw_secrets_t s4;
    assert_int_equal(unlink(path2), 0);
    assert_int_equal(gw_secrets_reload(path2, &s4, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "other.json: missing"));
    assert_int_equal(stat(path2, &st), -1);
    gw_secrets_clear(&s1);
    gw_secrets_clear(&s2);
    gw_secrets_clear(&s3);
}

static void
test_rotation_file(void **state)
{
    char path[350], err[512];
    gw_secrets_t s;
    gw_token_key_t old;
    uint8_t secret_a[32];

    for (int i = 0; i != 32; ++i)
        secret_a[i] = (uint8_t)i;
    snprintf(path, sizeof(path), "%s/rot.json", tmpdir);
    write_file(path,
               "{\"keys\": [\n"
               "  {\"id\": 7, \"secret\": \"" SECRET_B_B64 "\", \"primary\": true, \"created\": \"2025-01-01\"},\n"
               "  {\"id\": 3, \"secret\": \"" SECRET_A_B64 "\", \"primary\": false}\n"
               "]}\n",
               0600);
    assert_int_equal(gw_secrets_load(path, &s, err, sizeof(err)), 0);
    assert_int_equal(s.created, 0);
    assert_int_equal(s.num_keys, 2);
    assert_int_equal(gw_secrets_primary(&s)->id, 7);
    assert_int_equal(s.keys[1].id, 3);
    assert_int_equal(s.link_keys[0].id, 7);
    assert_int_equal(s.link_keys[1].id, 3);

    /* a token signed before the rotation (key 3, bytes 0..31) still verifies */
    gw_token_t t = {.policy_version = 1, .issued = 1, .expires = 1000}, out;
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    assert_int_equal(gw_token_key_init(&old, 3, secret_a, sizeof(secret_a)), 0);
    assert_int_equal(gw_token_encode(&t, &old, enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, s.keys, s.num_keys, 10, 1, &out), GW_TOKEN_OK);
    assert_int_equal(out.key_id, 3);
    /* and new tokens are signed with key 7 */
    assert_int_equal(gw_token_encode(&t, gw_secrets_primary(&s), enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, s.keys, s.num_keys, 10, 1, &out), GW_TOKEN_OK);
    assert_int_equal(out.key_id, 7);
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &old, 1, 10, 1, &out), GW_TOKEN_UNKNOWN_KEY);
    gw_secrets_clear(&s);
}

/* the link key is RFC 5869 HKDF-SHA256 and differs from the token key */
static void
test_link_key_is_hkdf(void **state)
{
    uint8_t secret[32], mine[32], theirs[32];
    size_t outlen = sizeof(theirs);
    static const char info[] = "consentgate outbound link v1";
    static const uint8_t salt[32];

    for (int i = 0; i != 32; ++i)
        secret[i] = (uint8_t)(i * 5 + 1);
    assert_int_equal(gw_secrets_derive_link_key(secret, sizeof(secret), mine), 0);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    assert_non_null(pctx);
    assert_int_equal(EVP_PKEY_derive_init(pctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, sizeof(salt)), 1);
    assert_int_equal(EVP_PKEY_CTX_set1_hkdf_key(pctx, secret, sizeof(secret)), 1);
    assert_int_equal(EVP_PKEY_CTX_add1_hkdf_info(pctx, (const unsigned char *)info, sizeof(info) - 1), 1);
    assert_int_equal(EVP_PKEY_derive(pctx, theirs, &outlen), 1);
    EVP_PKEY_CTX_free(pctx);
    assert_int_equal(outlen, 32);
    assert_memory_equal(mine, theirs, 32);
    assert_memory_not_equal(mine, secret, 32);
}

static void
test_file_mode_policy(void **state)
{
    static const struct {
        mode_t mode;
        int ok;
    } cases[] = {{0600, 1}, {0400, 1}, {0640, 0}, {0644, 0}, {0604, 0}, {0620, 0}, {0602, 0}, {0666, 0}, {0, -1}};
    char path[350], err[512];
    gw_secrets_t s;

    snprintf(path, sizeof(path), "%s/mode.json", tmpdir);
    for (size_t i = 0; cases[i].ok >= 0; ++i) {
        unlink(path);
        write_file(path, "{\"keys\": [{\"id\": 1, \"secret\": \"" SECRET_A_B64 "\", \"primary\": true}]}", cases[i].mode);
        err[0] = '\0';
        int r = gw_secrets_load(path, &s, err, sizeof(err));
        if (cases[i].ok) {
            assert_int_equal(r, 0);
        } else {
            assert_int_equal(r, -1);
            assert_non_null(strstr(err, "chmod 600"));
            assert_int_equal(strncmp(err, path, strlen(path)), 0);
        }
    }
    /* a folder is not a secrets file */
    assert_int_equal(gw_secrets_load(tmpdir, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
}

/* error messages point at the offending place: "file:line:column: message" */
static void
test_errors_have_positions(void **state)
{
    static const struct {
        const char *text;
        const char *where; /* expected "line:column" */
        const char *msg;   /* expected substring of the message */
    } cases[] = {
        /* syntax errors: jansson's position */
        {"{\"keys\": [\n  {\"id\": 1,,}\n]}", "2:12", "string or '}' expected"},
        {"{\"keys\": [\n", "2:1", "']' expected near end of file"}, /* jansson says column 0: clamped to 1 */
        {"", "1:1", "'[' or '{' expected"},
        {"{\"keys\": [], \"keys\": []}", "1:19", "duplicate object key"}, /* jansson: end of the key */
        /* semantic errors: position found by re-scanning */
        {"[]", "1:1", "must be an object"},
        {"{}", "1:1", "missing \"keys\""},
        {"{\"keys\": [], \"extra\": 1}", "1:14", "unknown key \"extra\""},
        {"{\"keys\": []}", "1:10", "array of 1..16 keys"},
        {"{\"keys\": {}}", "1:10", "array of 1..16 keys"},
        {"{\"keys\": [\n  42\n]}", "2:3", "keys[0]: must be an object"},
        {"{\"keys\": [{\"id\": 1, \"secret\": \"short\", \"primary\": true}]}", "1:31", "keys[0].secret: must be base64url"},
        {"{\"keys\": [{\"id\": 1, \"secret\": \"" SECRET_A_B64 "=\", \"primary\": true}]}", "1:31", "keys[0].secret"},
        {"{\"keys\": [{\"id\": 1, \"secret\": 5, \"primary\": true}]}", "1:31", "keys[0].secret: must be a string"},
        {"{\"keys\": [\n"
         "  {\"id\": 1, \"secret\": \"" SECRET_A_B64 "\", \"primary\": true},\n"
         "  {\"id\": 1, \"secret\": \"" SECRET_B_B64 "\"}\n"
         "]}",
         "3:10", "keys[1].id: duplicate key id 1"},
        {"{\"keys\": [\n"
         "  {\"id\": 1, \"secret\": \"" SECRET_A_B64 "\", \"primary\": true},\n"
         "  {\"id\": 2, \"secret\": \"" SECRET_B_B64 "\", \"primary\": true}\n"
         "]}",
         "3:81", "only one key can be primary"},
        {"{\"keys\": [\n"
         "  {\"id\": 1, \"secret\": \"" SECRET_A_B64 "\"},\n"
         "  {\"id\": 2, \"secret\": \"" SECRET_B_B64 "\", \"primary\": false}\n"
         "]}",
         "1:10", "no key is marked \"primary\": true"},
        {"{\"keys\": [\n  {\"secret\": \"" SECRET_A_B64 "\", \"primary\": true}]}", "2:3", "keys[0]: missing \"id\""},
        {"{\"keys\": [\n  {\"id\": 4, \"primary\": true}]}", "2:3", "keys[0]: missing \"secret\""},
        {"{\"keys\": [{\"id\": \"1\"}]}", "1:18", "keys[0].id: must be an integer 1..255"},
        {"{\"keys\": [{\"id\": 0}]}", "1:18", "keys[0].id: must be an integer"},
        {"{\"keys\": [{\"id\": 256}]}", "1:18", "keys[0].id: must be an integer"},
        {"{\"keys\": [{\"id\": 1.5}]}", "1:18", "keys[0].id: must be an integer"},
        {"{\"keys\": [{\"id\": 1, \"secret\": \"" SECRET_A_B64 "\", \"primary\": 1}]}", "1:89", "primary: must be true or false"},
        {"{\"keys\": [{\"id\": 1, \"created\": 5}]}", "1:32", "created: must be a string"},
        {"{\"keys\": [{\"id\": 1, \"scret\": \"x\"}]}", "1:21", "unknown key \"scret\""},
        {NULL, NULL, NULL} /* end of list */
    };
    char path[350], err[512], want[400];
    gw_secrets_t s;

    snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
    for (size_t i = 0; cases[i].text != NULL; ++i) {
        unlink(path);
        write_file(path, cases[i].text, 0600);
        err[0] = '\0';
        assert_int_equal(gw_secrets_load(path, &s, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "%s:%s: ", path, cases[i].where);
        if (strncmp(err, want, strlen(want)) != 0 || strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: got \"%s\", want \"%s...%s\"", i, err, want, cases[i].msg);
        /* nothing of a failed load survives */
        static const gw_secrets_t zero;
        assert_memory_equal(&s, &zero, sizeof(s));
    }
}

/* a parent that cannot become a folder (a regular file is in the way, even for root) */
static void
test_uncreatable_parent(void **state)
{
    char path[350], err[512];
    gw_secrets_t s;
    snprintf(path, sizeof(path), "%s/plain", tmpdir);
    write_file(path, "not a folder", 0600);
    snprintf(path, sizeof(path), "%s/plain/sub/secrets.json", tmpdir);
    assert_int_equal(gw_secrets_load(path, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot"));
    assert_int_equal(strncmp(err, path, strlen(path)), 0);
}

/* gateways starting at once on a missing file all end up with the same key */
static void
test_concurrent_generation(void **state)
{
    enum { N = 8 };
    char path[350], err[512];
    int fds[2];
    pid_t pids[N];
    uint8_t macs[N][32];

    snprintf(path, sizeof(path), "%s/race/secrets.json", tmpdir);
    assert_int_equal(pipe(fds), 0);
    for (int i = 0; i != N; ++i) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            gw_secrets_t s;
            uint8_t mac[32] = {0};
            if (gw_secrets_load(path, &s, err, sizeof(err)) == 0)
                gw_token_hmac(gw_secrets_primary(&s), "x", 1, mac);
            _exit(write(fds[1], mac, sizeof(mac)) == (ssize_t)sizeof(mac) ? 0 : 1);
        }
    }
    close(fds[1]);
    for (int i = 0; i != N; ++i) {
        int st;
        assert_int_equal(read(fds[0], macs[i], 32), 32);
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    close(fds[0]);
    static const uint8_t zero[32];
    for (int i = 0; i != N; ++i) {
        assert_memory_not_equal(macs[i], zero, 32);
        assert_memory_equal(macs[i], macs[0], 32);
    }
    snprintf(path, sizeof(path), "%s/race", tmpdir);
    assert_int_equal(count_entries(path), 1); /* no temporary file left behind */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generate_and_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_file, setup, teardown),
        cmocka_unit_test(test_link_key_is_hkdf),
        cmocka_unit_test_setup_teardown(test_file_mode_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_have_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncreatable_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_generation, setup, teardown),
    };
    return cmocka_run_group_tests_name("secrets", tests, NULL, NULL);
}
