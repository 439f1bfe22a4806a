/* Private to src/attest: the parsed form of an MAA policy, shared by the parser and evaluator. */
#ifndef CLOAK_ATTEST_MAA_POLICY_INT_H
#define CLOAK_ATTEST_MAA_POLICY_INT_H

#include "attest/maa_policy.h"

/* Claim properties a condition can test (claim-rule-grammar.md, "Claim"). */
typedef enum { MAA_P_TYPE, MAA_P_VALUE, MAA_P_ISSUER, MAA_P_VALUETYPE } maa_prop;
typedef enum { MAA_OP_EQ, MAA_OP_NE, MAA_OP_LT, MAA_OP_LE, MAA_OP_GT, MAA_OP_GE } maa_op;
typedef enum { MAA_EX_STR, MAA_EX_INT, MAA_EX_BOOL, MAA_EX_PROP, MAA_EX_CALL } maa_ex_kind;
/* claim-rule-functions.md, one entry per function. */
typedef enum {
    MAA_FN_JMESPATH,
    MAA_FN_JSONTOCLAIMVALUE,
    MAA_FN_ISSUBSETOF,
    MAA_FN_APPENDSTRING,
    MAA_FN_NEGATEBOOL,
    MAA_FN_CONTAINSONLYVALUE
} maa_fn;
typedef enum { MAA_A_PERMIT, MAA_A_DENY, MAA_A_ADD, MAA_A_ISSUE, MAA_A_ISSUEPROPERTY } maa_action;
typedef enum { MAA_SEC_CONFIG, MAA_SEC_AUTHZ, MAA_SEC_ISSUANCE, MAA_SEC_COUNT } maa_section;

typedef struct maa_expr {
    maa_ex_kind kind;
    const char *str; /* MAA_EX_STR */
    long long num;   /* MAA_EX_INT; MAA_EX_BOOL uses 0/1 */
    int var;         /* MAA_EX_PROP: index of the condition variable */
    maa_prop prop;   /* MAA_EX_PROP */
    maa_fn fn;       /* MAA_EX_CALL */
    struct maa_expr *args[2];
    int nargs;
} maa_expr;

typedef struct {
    maa_prop prop;
    maa_op op;
    const maa_expr *rhs;
} maa_test;

typedef struct {
    int negated; /* ![...]: holds when no claim matches (1.2) */
    int var;     /* -1 when the condition has no identifier */
    const maa_test *tests;
    size_t ntests;
} maa_cond;

typedef struct {
    const maa_cond *conds;
    size_t nconds;
    maa_action action;
    const char *type;      /* add/issue/issueproperty(type=...) */
    const maa_expr *value; /* ... value=... */
    int claim_var;         /* issue(claim=c) / add(claim=c); -1 otherwise */
    size_t nvars;
    int line;
} maa_rule;

struct maa_policy {
    maa_version version;
    const maa_rule *rules[MAA_SEC_COUNT];
    size_t nrules[MAA_SEC_COUNT];
    struct maa_arena *arena; /* owns every node above */
};

#endif
