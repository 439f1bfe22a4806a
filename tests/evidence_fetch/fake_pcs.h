/* A fake Intel PCS (API v4) / PCCS and AMD KDS on 127.0.0.1:0 over real TLS (cloak/http.h's
 * server, a local CA from cloak_http_tls_ensure), serving the published collateral of
 * ../shared/vectors/attestation with the headers the real services send. Test switches make
 * it misbehave: edited or forged TCB info, error statuses, a wrong AMD chain; it checks the
 * API key and counts where a key arrived. */
#ifndef CLOAK_TEST_FAKE_PCS_H
#define CLOAK_TEST_FAKE_PCS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum { FAKE_TCB, FAKE_QE, FAKE_PCKCRL, FAKE_ROOTCRL, FAKE_KDS, FAKE_NROUTES };

typedef struct {
    char base[64];                   /* https://127.0.0.1:PORT */
    char ca[4096];                   /* the CA file to trust */
    char dir[64];                    /* the server's TLS dir (mkdtemp) */
    char vec[1024];                  /* the vectors dir */
    atomic_int tamper;               /* 1: TCB info body edited; 2: signed by a forged chain */
    atomic_int status[FAKE_NROUTES]; /* non-zero: answer with this status */
    atomic_int snp_wrong_chain;      /* 1: serve the Genoa chain for every product */
    char want_key[128];              /* non-empty: PCS routes demand exactly this key (else 401) */
    atomic_int key_ok, key_bad;      /* PCS requests with the right / a wrong or no key */
    atomic_int key_elsewhere;        /* requests to non-PCS routes that carried a key */
    atomic_int ca_processor, ca_platform; /* PCK CRL requests per CA */
    atomic_int vcek_requests;
    time_t snp_crl_at; /* the forged AMD CRL is current around this time */
} fake_pcs;

extern fake_pcs F;

/* Start once per test binary (group setup); stop at the end. */
void fake_start(void);
void fake_stop(void);
/* All switches and counters back to normal. */
void fake_reset(void);
/* A vector file (malloc'd, *len set); fails the test if missing. */
uint8_t *fake_vec(const char *rel, size_t *len);
/* 1 if file `path` holds exactly the bytes of vector `rel`. */
int fake_same_as_vec(const char *path, const char *rel);
/* A fresh directory under /tmp (malloc'd) and its removal. */
char *fake_tmpdir(void);
void fake_rm_rf(char *path);

#endif
