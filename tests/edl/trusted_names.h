/* Force-included (-include) into the enclave half of the end-to-end test. A real build has the
 * host and the enclave in two programs, so both may use the names ecall_x / ocall_x (a stub on
 * one side, the developer's function on the other). This test links both sides into one
 * binary, so the enclave side's names get a t_ prefix. */
#define ecall_process t_ecall_process
#define ecall_add t_ecall_add
#define ecall_greet t_ecall_greet
#define ecall_types t_ecall_types
#define ecall_negate t_ecall_negate
#define ecall_narrow t_ecall_narrow
#define ecall_fixed t_ecall_fixed
#define ecall_signed_count t_ecall_signed_count
#define ecall_nothing t_ecall_nothing
#define ecall_inout_one t_ecall_inout_one
#define ecall_call_host t_ecall_call_host
#define ocall_print t_ocall_print
#define ocall_fetch t_ocall_fetch
#define ocall_scale t_ocall_scale
#define ocall_void t_ocall_void
