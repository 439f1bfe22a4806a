/* Helpers shared by the image tests: run commands, files, and values computed by openssl. */
#ifndef CLOAK_TESTS_IMAGE_TESTLIB_H
#define CLOAK_TESTS_IMAGE_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#define HDR 16
#define MAN 512
#define SIGNED (HDR + MAN)
#define SIG 384
#define M(off) (HDR + (off)) /* manifest offset -> file offset */

#define SIG_MSG "does not verify under the signer key in its manifest"
#define MEAS_MSG "does not match its measurement"

/* A fresh scratch directory (mkdtemp), removed by scratch_remove. */
extern char scratch_dir[64];
int scratch_create(void);
void scratch_remove(void);
void tpath(char *dst, size_t n, const char *name); /* scratch_dir/name */

/* Run a shell command; capture up to outsz-1 bytes of stdout; return its exit status. */
int run(const char *cmd, char *out, size_t outsz);
int runf(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void write_file(const char *path, const uint8_t *p, size_t len);
uint8_t *read_all(const char *path, size_t *len);

void to_hex(const uint8_t *p, size_t n, char *hex); /* hex holds 2n+1 */
void put_le(uint8_t *p, uint64_t v, int n);
uint64_t get_le(const uint8_t *p, int n);

/* SHA-256 of a file by `openssl dgst`, lower-case hex. */
void openssl_sha256(const char *path, char hex[65]);
/* The big-endian modulus of an RSA-3072 key, from `openssl rsa -modulus`. */
void openssl_modulus(const char *key, uint8_t mod[384]);
/* mrsigner as the spec defines it, computed by openssl: SHA-256 of the modulus little-endian. */
void expected_mrsigner_hex(const char *key, char hex[65]);
/* The cloak binary under test: $CLOAK_BUILD_DIR/bin/cloak. */
const char *cli(void);

#endif
