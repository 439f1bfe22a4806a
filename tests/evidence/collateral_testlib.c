/* Helpers shared by the collateral and TCB tests (see collateral_testlib.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evidence/collateral_testlib.h"

static const char *const split_files[] = {
    "tcb_info_body.json", "tcb_info.sig", "qe_identity_body.json", "qe_identity.sig",
    "root_ca_crl.der",    "pck_crl.der",  "tcb_signing_chain.pem", "pck_crl_issuer_chain.pem",
};

/* ---- helpers ---- */

char *vec(const char *rel)
{
    char *s = NULL;
    assert_true(asprintf(&s, "%s/%s", CLOAK_VECTORS, rel) > 0);
    return s;
}

uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *p = NULL;
    cloak_error e = {0};
    if (cloak_file_read(path, &p, len, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    return p;
}

uint8_t *slurp_vec(const char *rel, size_t *len)
{
    char *path = vec(rel);
    uint8_t *p = slurp(path, len);
    free(path);
    return p;
}

void put(const char *dir, const char *name, const void *p, size_t len)
{
    char *path = NULL;
    cloak_error e = {0};
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    if (cloak_file_write(path, p, len, 0644, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    free(path);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void rm_rf(char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

/* A fresh temp dir holding a copy of the split collateral in `src` (absolute). */
char *tmpdir_new(void)
{
    char t[] = "/tmp/cloak-coll-test-XXXXXX";
    assert_non_null(mkdtemp(t));
    return strdup(t);
}

char *copy_split(const char *src)
{
    char *t = tmpdir_new();
    for (size_t i = 0; i < sizeof split_files / sizeof *split_files; i++) {
        char *from = NULL;
        size_t len;
        assert_true(asprintf(&from, "%s/%s", src, split_files[i]) > 0);
        uint8_t *p = slurp(from, &len);
        put(t, split_files[i], p, len);
        free(p);
        free(from);
    }
    return t;
}

char *copy_vec_split(const char *rel)
{
    char *src = vec(rel), *d = copy_split(src);
    free(src);
    return d;
}

cloak_collateral *load_ok(const char *path)
{
    cloak_collateral *c = NULL;
    cloak_error e = {0};
    if (cloak_collateral_load(path, &c, &e) != CLOAK_OK) fail_msg("load %s: %s", path, e.msg);
    return c;
}

cloak_collateral *load_vec(const char *rel)
{
    char *path = vec(rel);
    cloak_collateral *c = load_ok(path);
    free(path);
    return c;
}

X509 *intel_root(void)
{
    size_t len;
    uint8_t *p = slurp_vec("dcap-qvl/intel_sgx_root_ca.der", &len);
    const uint8_t *q = p;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    assert_non_null(x);
    free(p);
    return x;
}

cloak_collateral *from_pcs(const char *tcb_rel, const char *qe_rel, const char *root_crl,
                           const char *pck_crl, const char *chain, const char *pck_chain)
{
    size_t tl, ql, rl, pl, cl, kl;
    uint8_t *tj = slurp_vec(tcb_rel, &tl), *qj = slurp_vec(qe_rel, &ql);
    uint8_t *r = slurp_vec(root_crl, &rl), *pc = slurp_vec(pck_crl, &pl);
    uint8_t *ch = slurp_vec(chain, &cl), *kc = slurp_vec(pck_chain, &kl);
    uint8_t tsig[64], qsig[64];
    dcap_collateral_parts parts = {0};
    cloak_error e = {0};
    cloak_collateral *c = NULL;
    /* a QE identity may come as a split body (dcap-qvl layout) or as a PCS response */
    if (dcap_pcs_split(tj, tl, "tcbInfo", &parts.tcb_info, &parts.tcb_info_len, tsig, &e))
        fail_msg("%s: %s", tcb_rel, e.msg);
    if (dcap_pcs_split(qj, ql, "enclaveIdentity", &parts.qe_identity, &parts.qe_identity_len, qsig,
                       &e))
        fail_msg("%s: %s", qe_rel, e.msg);
    parts.tcb_info_sig = tsig;
    parts.tcb_info_sig_len = 64;
    parts.qe_identity_sig = qsig;
    parts.qe_identity_sig_len = 64;
    parts.root_crl = r, parts.root_crl_len = rl;
    parts.pck_crl = pc, parts.pck_crl_len = pl;
    parts.tcb_chain = parts.qe_chain = ch, parts.tcb_chain_len = parts.qe_chain_len = cl;
    parts.pck_crl_chain = kc, parts.pck_crl_chain_len = kl;
    if (dcap_collateral_from_parts(&parts, tcb_rel, &c, &e)) fail_msg("%s", e.msg);
    free(tj), free(qj), free(r), free(pc), free(ch), free(kc);
    return c;
}
