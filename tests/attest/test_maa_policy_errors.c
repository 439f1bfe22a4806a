/* MAA policy parse errors: each names its line and column (1-based; a tab is one column). */
#include "maa_test_util.h"

static void test_unknown_action(void **state)
{
    (void)state;
    parse_fails("version=1.0;\nauthorizationrules {\n  => allow();\n};", "line 3, column 6",
                "unknown action 'allow'");
}

static void test_missing_semicolon_after_rule(void **state)
{
    (void)state;
    parse_fails("version=1.0;\nauthorizationrules {\n  => permit()\n};", "line 4, column 1",
                "expected ';' after the rule's action");
}

static void test_unterminated_string(void **state)
{
    (void)state;
    parse_fails("version=1.0;\nauthorizationrules {\n  [type==\"abc] => permit();\n};",
                "line 3, column 10", "unterminated string");
}

static void test_ordering_operator_on_string(void **state)
{
    (void)state;
    parse_fails(
        "version=1.0;\nauthorizationrules {\n  [type==\"a\", value < \"b\"] => permit();\n};",
        "line 3, column 21", "string values only allow == and !=");
    parse_fails("version=1.0;\nauthorizationrules {\n  [issuer >= \"b\"] => permit();\n};",
                "line 3, column 11", "'issuer' compares strings");
    parse_fails("version=1.0;\nauthorizationrules {\n  [value > true] => permit();\n};",
                "line 3, column 10", "boolean values only allow");
}

static void test_configurationrules_needs_v11(void **state)
{
    (void)state;
    parse_fails("version=1.0;\nconfigurationrules { => issueproperty(type=\"a\", value=1); };\n"
                "authorizationrules { => permit(); };",
                "line 2, column 1", "configurationrules needs 'version=1.1;'");
}

static void test_permit_not_allowed_in_issuancerules(void **state)
{
    (void)state;
    parse_fails(
        "version=1.0;\nauthorizationrules { => permit(); };\nissuancerules {\n    => permit();\n};",
        "line 4, column 8", "permit() is not allowed in issuancerules");
    parse_fails("version=1.0;\nauthorizationrules { => issue(type=\"a\", value=1); };",
                "line 2, column 25", "issue() is not allowed in authorizationrules");
    parse_fails("version=1.1;\nconfigurationrules { => add(type=\"a\", value=1); };",
                "line 2, column 25", "add() is not allowed in configurationrules");
}

static void test_functions_need_v12(void **state)
{
    (void)state;
    parse_fails("version=1.1;\nauthorizationrules { => permit(); };\nissuancerules {\n"
                "  => issue(type=\"a\", value=AppendString(\"x\", \"y\"));\n};",
                "line 4, column 28", "needs 'version=1.2;'");
}

static void test_not_operator_needs_v12(void **state)
{
    (void)state;
    parse_fails("version=1.1;\nauthorizationrules {\n  ![type==\"x\"] => permit();\n};",
                "line 3, column 3", "'!' (claim absent) needs 'version=1.2;'");
}

static void test_unsupported_version(void **state)
{
    (void)state;
    parse_fails("version=2.0;\nauthorizationrules { => permit(); };", "line 1, column 9",
                "unsupported policy version 2.0");
    parse_fails("authorizationrules { => permit(); };", "line 1, column 1",
                "starts with 'version=1.0;'");
    parse_fails("", "line 1, column 1", "starts with 'version");
}

/* author-sign-policy.md's sample writes "type=" inside a condition and drops the ';' after
 * rules; we reject it and say how to fix it (the corrected form is tested elsewhere). */
static void test_doc_typo_single_equals_in_condition(void **state)
{
    (void)state;
    parse_fails("version=1.0;\nauthorizationrules\n{\n   c:[type=\"secureBootEnables\", "
                "issuer==\"AttestationService\"]=> permit()\n};",
                "line 4, column 11", "a condition compares with '==' or '!='");
}

/* The old policy-examples.md default policy used typographic quotes. */
static void test_typographic_quotes(void **state)
{
    (void)state;
    parse_fails(
        "Version= 1.0;\nauthorizationrules\n{\n\tc:[type==\xe2\x80\x9d$is-debuggable\xe2\x80\x9d] "
        "=> permit();\n};",
        "line 4, column 11", "use a straight double quote");
}

static void test_missing_arrow(void **state)
{
    (void)state;
    parse_fails("version=1.0;\nauthorizationrules {\n  [type==\"a\"] permit();\n};",
                "line 3, column 15", "expected '=>' after the condition");
}

static void test_unknown_identifier(void **state)
{
    (void)state;
    parse_fails("version=1.0;\nauthorizationrules { => permit(); };\nissuancerules {\n"
                "  => issue(type=\"a\", value=d.value);\n};",
                "line 4, column 28", "'d' is not an identifier of an earlier condition");
    parse_fails(
        "version=1.0;\nauthorizationrules {\n  c:[type==\"a\", value==c.value] => permit();\n};",
        "line 3, column 24", "'c' is not an identifier");
}

static void test_structure_errors(void **state)
{
    (void)state;
    parse_fails("version=1.0;\nissuancerules { };", "line 2, column 19", "no authorizationrules");
    parse_fails("version=1.0;\nissuancerules { };\nauthorizationrules { };", "line 3, column 1",
                "authorizationrules must come before issuancerules");
    parse_fails("version=1.0;\nauthorizationrules { };\nauthorizationrules { };",
                "line 3, column 1", "appears twice");
    parse_fails("version=1.0;\nauthorizationrules { }\n", "line 3, column 1",
                "expected ';' after the section");
    parse_fails("version=1.0;\nauthorizationrules { => permit(); };\nfoo", "line 3, column 1",
                "expected a section");
    parse_fails("version=1.0;\nauthorizationrules { => permit();", "line 2, column 34",
                "needs a closing '}'");
    parse_fails("version=1.0;\n/* open", "line 2, column 1", "unterminated /* comment");
}

static void test_action_argument_errors(void **state)
{
    (void)state;
    /* policy-version-1-2.md's last sample rule omits "type=". */
    parse_fails("version=1.2;\nauthorizationrules { => permit(); };\nissuancerules {\n"
                "[type==\"a\"] => issue(\"PlatformAttested\", value=true);\n};",
                "line 4, column 22", "expected type=\"...\" or value=...");
    parse_fails("version=1.0;\nauthorizationrules { => permit(); };\nissuancerules { => "
                "issue(type=\"a\"); };",
                "line 3, column 34", "needs both type=");
    parse_fails("version=1.0;\nauthorizationrules { => permit(1); };", "line 2, column 32",
                "take no arguments");
    parse_fails("version=1.0;\nauthorizationrules { => permit(); };\nissuancerules { => "
                "issue(type=\"\", value=1); };",
                "line 3, column 31", "must not be empty");
}

static void test_bad_literals(void **state)
{
    (void)state;
    parse_fails("version=1.0;\nauthorizationrules { [value==99999999999999999999] => permit(); };",
                "line 2, column 30", "does not fit in 64 bits");
    parse_fails("version=1.0;\nauthorizationrules { [type==\"a\\q\"] => permit(); };",
                "line 2, column 31", "unknown escape");
    parse_fails("version=1.0;\nauthorizationrules { [type==\"a\xff\"] => permit(); };",
                "line 2, column 29", "not valid UTF-8");
    parse_fails("version=1.0;\nauthorizationrules { [type==5] => permit(); };", "line 2, column 27",
                "quote the value");
    parse_fails("version=1.0;\nauthorizationrules { [type==\"a\"] & [type==\"b\"] => permit(); };",
                "line 2, column 34", "joined with '&&'");
}

static void test_function_arity(void **state)
{
    (void)state;
    parse_fails("version=1.2;\nauthorizationrules { => permit(); };\nissuancerules { => "
                "issue(type=\"a\", value=JmesPath(\"{}\")); };",
                "line 3, column 42", "JmesPath takes 2 argument(s), not 1");
    parse_fails("version=1.2;\nauthorizationrules { => permit(); };\nissuancerules { => "
                "issue(type=\"a\", value=Foo(1)); };",
                "line 3, column 42", "unknown function 'Foo'");
}

static void test_oversized_policy_refused(void **state)
{
    (void)state;
    maa_policy *p = NULL;
    cloak_error why = {0};
    assert_int_equal(maa_policy_parse("x", MAA_POLICY_MAX_LEN + 1, &p, &why), CLOAK_EINVAL);
    assert_null(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_action),
        cmocka_unit_test(test_missing_semicolon_after_rule),
        cmocka_unit_test(test_unterminated_string),
        cmocka_unit_test(test_ordering_operator_on_string),
        cmocka_unit_test(test_configurationrules_needs_v11),
        cmocka_unit_test(test_permit_not_allowed_in_issuancerules),
        cmocka_unit_test(test_functions_need_v12),
        cmocka_unit_test(test_not_operator_needs_v12),
        cmocka_unit_test(test_unsupported_version),
        cmocka_unit_test(test_doc_typo_single_equals_in_condition),
        cmocka_unit_test(test_typographic_quotes),
        cmocka_unit_test(test_missing_arrow),
        cmocka_unit_test(test_unknown_identifier),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_action_argument_errors),
        cmocka_unit_test(test_bad_literals),
        cmocka_unit_test(test_function_arity),
        cmocka_unit_test(test_oversized_policy_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
