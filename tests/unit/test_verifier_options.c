/* SPDX-License-Identifier: MIT */
/*
 * test_verifier_options.c - Driver Verifier's options as rule classes (docs/verifier.md):
 * Windows' standard settings on a new machine, kdpc_verifier_set with `verifier /flags` bits,
 * kdpc_verifier_class_set by name, a class that is off silencing its rules whatever their own
 * switch says, bad bits and names refused with nothing changed, low resources simulation, the
 * class and Microsoft names of every rule, and a reset bringing the standard settings back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdpc_test.h"

static KSPIN_LOCK vo_lock;
static int vo_done;

/* spinlock.not_owned, a deadlock detection rule: a release of a lock nobody holds. */
static void ReleaseUnheld(void *ctx)
{
    (void)ctx;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeReleaseSpinLockFromDpcLevel(&vo_lock);
    KeLowerIrql(old);
    vo_done = 1;
}

static size_t rule_index(const char *id)
{
    for (size_t i = 0; i < kdpc_rule_count(); i++) {
        if (strcmp(kdpc_rule_info(i, NULL), id) == 0)
            return i;
    }
    fail_msg("no rule %s", id);
    return 0;
}

static void test_new_machine_has_windows_standard_settings(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 1);
    assert_int_equal(KDPC_VERIFIER_STANDARD, 0x209BBu); /* verifier /standard */
    assert_int_equal(kdpc_verifier_flags(m), KDPC_VERIFIER_STANDARD);
    assert_int_equal(kdpc_verifier_flags(m) & KDPC_VERIFIER_LOW_RESOURCES, 0);
    assert_int_equal(kdpc_verifier_flags(NULL), 0);
    kdpc_machine_destroy(m);
}

static void test_class_off_silences_its_rules_and_on_restores_them(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 2);
    assert_string_equal(kdpc_rule_class(rule_index("spinlock.not_owned")), "deadlock_detection");
    assert_int_equal(kdpc_verifier_class_set(m, "deadlock_detection", false), KDPC_OK);
    assert_int_equal(kdpc_verifier_flags(m), KDPC_VERIFIER_STANDARD & ~KDPC_VERIFIER_DEADLOCK);
    assert_int_equal(kdpc_rule_action_of(m, "spinlock.not_owned"), KDPC_RULE_OFF);
    /* other classes are untouched */
    assert_int_equal(kdpc_rule_action_of(m, "irql.raise_lower"), KDPC_RULE_BUGCHECK);
    vo_done = 0;
    assert_int_equal(kdpc_machine_run(m, ReleaseUnheld, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(vo_done, 1);

    /* the class wins over the rule's own switch, which comes back with the class */
    assert_int_equal(kdpc_rule_set(m, "spinlock.not_owned", KDPC_RULE_WARN), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, "spinlock.not_owned"), KDPC_RULE_OFF);
    assert_int_equal(kdpc_verifier_class_set(m, "deadlock_detection", true), KDPC_OK);
    assert_int_equal(kdpc_rule_action_of(m, "spinlock.not_owned"), KDPC_RULE_WARN);
    vo_done = 0;
    assert_int_equal(kdpc_machine_run(m, ReleaseUnheld, NULL), KDPC_OK);
    KT_ASSERT_WARNING(m, "spinlock.not_owned");
    assert_int_equal(kdpc_rule_set(m, "spinlock.not_owned", KDPC_RULE_DEFAULT), KDPC_OK);
    kdpc_status st = kdpc_machine_run(m, ReleaseUnheld, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.not_owned", 0xC4);
    kdpc_machine_destroy(m);
}

static void test_flags_zero_leaves_only_classes_without_a_bit(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 3);
    assert_int_equal(kdpc_verifier_set(m, 0), KDPC_OK);
    assert_int_equal(kdpc_verifier_flags(m), 0);
    for (size_t i = 0; i < kdpc_rule_count(); i++) {
        const char *cls = kdpc_rule_class(i);
        const char *id = kdpc_rule_info(i, NULL);
        bool bitless =
            strcmp(cls, "automatic") == 0 || strcmp(cls, "kernel") == 0 || strcmp(cls, "kdpc") == 0;
        if (bitless)
            assert_int_not_equal(kdpc_rule_action_of(m, id), KDPC_RULE_OFF);
        else if (kdpc_rule_action_of(m, id) != KDPC_RULE_OFF)
            fail_msg("rule %s of class %s is on with every option off", id, cls);
    }
    assert_int_equal(kdpc_verifier_set(m, KDPC_VERIFIER_ALL), KDPC_OK);
    assert_int_equal(kdpc_verifier_flags(m), KDPC_VERIFIER_ALL);
    for (size_t i = 0; i < kdpc_rule_count(); i++)
        assert_int_not_equal(kdpc_rule_action_of(m, kdpc_rule_info(i, NULL)), KDPC_RULE_OFF);
    kdpc_machine_destroy(m);
}

static void test_bad_bits_and_names_change_nothing(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 4);
    assert_int_equal(kdpc_verifier_set(m, KDPC_VERIFIER_STANDARD | 0x40u), KDPC_EINVAL);
    assert_int_equal(kdpc_verifier_set(m, 0x80000000u), KDPC_EINVAL);
    assert_int_equal(kdpc_verifier_set(NULL, 0), KDPC_EINVAL);
    assert_int_equal(kdpc_verifier_flags(m), KDPC_VERIFIER_STANDARD);
    static const char *const bad[] = {"",       "io",   "IO_VERIFICATION",     "automatic",
                                      "kernel", "kdpc", "deadlock_detection ", "spinlock.*"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(kdpc_verifier_class_set(m, bad[i], false), KDPC_ENOENT);
        assert_int_equal(kdpc_verifier_flags(m), KDPC_VERIFIER_STANDARD);
    }
    assert_int_equal(kdpc_verifier_class_set(m, NULL, false), KDPC_EINVAL);
    assert_int_equal(kdpc_verifier_class_set(NULL, "io_verification", false), KDPC_EINVAL);
    assert_int_equal(kdpc_verifier_flags(m), KDPC_VERIFIER_STANDARD);
    /* an unknown rule name to the rule switch: an error, nothing changed */
    assert_int_equal(kdpc_rule_set(m, "io.no_such_rule", KDPC_RULE_OFF), KDPC_ENOENT);
    assert_int_equal(kdpc_rule_set(m, "nosuchfamily.*", KDPC_RULE_OFF), KDPC_ENOENT);
    for (size_t i = 0; i < kdpc_rule_count(); i++)
        assert_int_not_equal(kdpc_rule_action_of(m, kdpc_rule_info(i, NULL)), KDPC_RULE_OFF);
    kdpc_machine_destroy(m);
}

static void test_every_class_name_switches_its_bit(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint32_t bit;
    } names[] = {
        {"special_pool", KDPC_VERIFIER_SPECIAL_POOL},
        {"force_irql", KDPC_VERIFIER_FORCE_IRQL},
        {"low_resources", KDPC_VERIFIER_LOW_RESOURCES},
        {"pool_tracking", KDPC_VERIFIER_POOL_TRACKING},
        {"io_verification", KDPC_VERIFIER_IO},
        {"deadlock_detection", KDPC_VERIFIER_DEADLOCK},
        {"dma_verification", KDPC_VERIFIER_DMA},
        {"security_checks", KDPC_VERIFIER_SECURITY},
        {"misc_checks", KDPC_VERIFIER_MISC},
        {"ddi_compliance", KDPC_VERIFIER_DDI_COMPLIANCE},
    };
    kdpc_machine *m = kt_machine(1, 5);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(kdpc_verifier_set(m, 0), KDPC_OK);
        assert_int_equal(kdpc_verifier_class_set(m, names[i].name, true), KDPC_OK);
        assert_int_equal(kdpc_verifier_flags(m), names[i].bit);
        assert_int_equal(kdpc_verifier_set(m, KDPC_VERIFIER_ALL), KDPC_OK);
        assert_int_equal(kdpc_verifier_class_set(m, names[i].name, false), KDPC_OK);
        assert_int_equal(kdpc_verifier_flags(m), KDPC_VERIFIER_ALL & ~names[i].bit);
    }
    assert_int_equal(kdpc_verifier_set(m, 0), KDPC_OK);
    assert_int_equal(kdpc_verifier_class_set(m, "standard", true), KDPC_OK);
    assert_int_equal(kdpc_verifier_flags(m), KDPC_VERIFIER_STANDARD);
    kdpc_machine_destroy(m);
}

static void test_every_rule_has_a_class_and_microsoft_names(void **state)
{
    (void)state;
    static const char *const known[] = {
        "special_pool",       "force_irql",       "pool_tracking",   "io_verification",
        "deadlock_detection", "dma_verification", "security_checks", "misc_checks",
        "ddi_compliance",     "automatic",        "kernel",          "kdpc"};
    for (size_t i = 0; i < kdpc_rule_count(); i++) {
        const char *cls = kdpc_rule_class(i);
        assert_non_null(cls);
        bool ok = false;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            ok = ok || strcmp(cls, known[k]) == 0;
        if (!ok)
            fail_msg("rule %s: class %s", kdpc_rule_info(i, NULL), cls);
        assert_non_null(kdpc_rule_microsoft(i));
    }
    assert_null(kdpc_rule_class(kdpc_rule_count()));
    assert_null(kdpc_rule_microsoft(kdpc_rule_count()));
    /* a Microsoft name finds its rule */
    assert_non_null(
        strstr(kdpc_rule_microsoft(rule_index("io.double_complete")), "DoubleCompletion"));
}

static void test_report_names_the_microsoft_rule(void **state)
{
    (void)state;
    kdpc_config cfg = kt_config(1, 10);
    FILE *log = tmpfile();
    assert_non_null(log);
    cfg.log = log;
    kdpc_machine *m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    kdpc_status st = kdpc_machine_run(m, ReleaseUnheld, NULL);
    KT_ASSERT_BUGCHECK(m, st, "spinlock.not_owned", 0xC4);
    kdpc_machine_destroy(m);
    char text[4096];
    rewind(log);
    size_t n = fread(text, 1, sizeof(text) - 1, log);
    text[n] = '\0';
    fclose(log);
    /* the rule's line, then the Microsoft names of rules.def, then the guideline */
    const char *rule = strstr(text, "  rule:      spinlock.not_owned\n");
    assert_non_null(rule);
    const char *ms = strstr(text, "  microsoft: 0xC4/0x1004, 0x1007; SpinlockRelease");
    assert_non_null(ms);
    assert_true(rule < ms);
    assert_true(ms < strstr(text, "  guideline: "));
}

static int vo_failed;

static void AllocateMany(void *ctx)
{
    (void)ctx;
    vo_failed = 0;
    for (int i = 0; i < 1000; i++) {
        void *p = ExAllocatePoolWithTag(NonPagedPoolNx, 32, 'tsVo');
        if (p == NULL)
            vo_failed++;
        else
            ExFreePoolWithTag(p, 'tsVo');
    }
}

static void test_low_resources_simulation_fails_allocations_when_on(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 6);
    assert_int_equal(kdpc_machine_run(m, AllocateMany, NULL), KDPC_OK);
    assert_int_equal(vo_failed, 0); /* off in the standard settings */
    assert_int_equal(kdpc_verifier_class_set(m, "low_resources", true), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, AllocateMany, NULL), KDPC_OK);
    /* Windows' default chance, 6%: 60 of 1000 expected; the seed is fixed */
    assert_true(vo_failed > 30 && vo_failed < 100);
    kdpc_machine_destroy(m);

    /* a machine configured with a chance starts with the option on, at that chance */
    kdpc_config cfg = kt_config(1, 6);
    cfg.low_resources_permille = 500;
    m = kdpc_machine_create(&cfg);
    assert_non_null(m);
    assert_true((kdpc_verifier_flags(m) & KDPC_VERIFIER_LOW_RESOURCES) != 0);
    assert_int_equal(kdpc_machine_run(m, AllocateMany, NULL), KDPC_OK);
    assert_true(vo_failed > 400 && vo_failed < 600);
    assert_int_equal(kdpc_verifier_class_set(m, "low_resources", false), KDPC_OK);
    assert_int_equal(kdpc_machine_run(m, AllocateMany, NULL), KDPC_OK);
    assert_int_equal(vo_failed, 0);
    kdpc_machine_destroy(m);
}

static void test_reset_brings_standard_settings_back(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 7);
    assert_int_equal(kdpc_verifier_set(m, KDPC_VERIFIER_DMA), KDPC_OK);
    assert_int_equal(kdpc_machine_reset(m, 8), KDPC_OK);
    assert_int_equal(kdpc_verifier_flags(m), KDPC_VERIFIER_STANDARD);
    kdpc_machine_destroy(m);
}

static void SwitchInside(void *ctx)
{
    (void)ctx;
    (void)kdpc_verifier_class_set(kdpc_current_machine(), "deadlock_detection", false);
    ReleaseUnheld(NULL);
}

static void test_class_switched_from_simulated_code_applies_at_once(void **state)
{
    (void)state;
    kdpc_machine *m = kt_machine(1, 9);
    vo_done = 0;
    assert_int_equal(kdpc_machine_run(m, SwitchInside, NULL), KDPC_OK);
    assert_int_equal(kdpc_machine_violation_count(m), 0);
    assert_int_equal(vo_done, 1);
    kdpc_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_machine_has_windows_standard_settings),
        cmocka_unit_test(test_class_off_silences_its_rules_and_on_restores_them),
        cmocka_unit_test(test_flags_zero_leaves_only_classes_without_a_bit),
        cmocka_unit_test(test_bad_bits_and_names_change_nothing),
        cmocka_unit_test(test_every_class_name_switches_its_bit),
        cmocka_unit_test(test_every_rule_has_a_class_and_microsoft_names),
        cmocka_unit_test(test_report_names_the_microsoft_rule),
        cmocka_unit_test(test_low_resources_simulation_fails_allocations_when_on),
        cmocka_unit_test(test_reset_brings_standard_settings_back),
        cmocka_unit_test(test_class_switched_from_simulated_code_applies_at_once),
    };
    return cmocka_run_group_tests_name("verifier_options", tests, NULL, NULL);
}
