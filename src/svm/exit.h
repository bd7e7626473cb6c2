/*
 * Private to src/svm: the pieces of the exit path.  exit.c's table calls the
 * handlers below (intercepts.c) and the paging mode's hooks; the event glue
 * (event_vmcb.c) runs before the handler; the counters and names
 * (exitstat.c) sit below everything, so the summary, the watchdog and
 * `monitor stats` read them without depending on the table.
 */
#ifndef UMBRA_SVM_EXIT_H
#define UMBRA_SVM_EXIT_H

#include <umbra/svm.h>

/* exitstat.c: counted by svm_handle_exit() only. */
extern uint64_t svm_exit_count[VMEXIT_TABLE_SIZE];
extern uint64_t svm_exit_count_other;
/* The name of an exit code ("cpuid", "cr3-write", "exception-14", ...), in buf if not a constant. */
const char *svm_exit_name(uint64_t code, char *buf, size_t len);
/* idx-th exit reason with a non-zero count (name into buf); false past the last. */
bool svm_exit_stat(unsigned idx, char *buf, size_t len, uint64_t *count);
/* All exits so far (the watchdog's progress check). */
uint64_t svm_exit_total(void);

/* intercepts.c: the handlers every guest has, whatever its paging mode. */
void svm_exit_cpuid(struct svm_vcpu *v);
void svm_exit_hlt(struct svm_vcpu *v);
void svm_exit_ioio(struct svm_vcpu *v);
void svm_exit_msr(struct svm_vcpu *v);
void svm_exit_vmmcall(struct svm_vcpu *v);
void svm_exit_shutdown(struct svm_vcpu *v);
void svm_exit_svm_insn(struct svm_vcpu *v);    /* VMRUN, VMLOAD, ..., INVLPGA: #UD */
/* "umbra: vmmcall: ..." end-of-run line, if there is something to say. */
void svm_intercepts_report(void);

/* event_vmcb.c: EXITINTINFO valid; false if the guest was stopped (rules in event.h). */
bool svm_event_after_exit(struct svm_vcpu *v);
/* "umbra: events: ..." end-of-run lines. */
void svm_event_report(void);

#endif
