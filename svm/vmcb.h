/* VMCB layout (AMD APM vol. 2, appendix B) and exit codes (appendix C). */
#ifndef LAMINA_VMCB_H
#define LAMINA_VMCB_H

#include <lamina/types.h>

/* Control area */
#define VMCB_INTERCEPT_MISC1 0x00c
#define VMCB_INTERCEPT_MISC2 0x010
#define VMCB_IOPM_BASE 0x040
#define VMCB_MSRPM_BASE 0x048
#define VMCB_ASID 0x058
#define VMCB_TLB_CONTROL 0x05c
#define VMCB_VINTR 0x060
#define VMCB_INT_STATE 0x068  /* bit 0: interrupt shadow */
#define VMCB_EXITCODE 0x070
#define VMCB_EXITINFO1 0x078
#define VMCB_EXITINFO2 0x080
#define VMCB_EXITINTINFO 0x088
#define VMCB_NP_ENABLE 0x090
#define VMCB_EVENTINJ 0x0a8
#define VMCB_NCR3 0x0b0
#define VMCB_NRIP 0x0c8
/* State save area: segments are {sel u16, attr u16, limit u32, base u64} */
#define VMCB_ES 0x400
#define VMCB_CS 0x410
#define VMCB_SS 0x420
#define VMCB_DS 0x430
#define VMCB_FS 0x440
#define VMCB_GS 0x450
#define VMCB_GDTR 0x460
#define VMCB_LDTR 0x470
#define VMCB_IDTR 0x480
#define VMCB_TR 0x490
#define VMCB_CPL 0x4cb
#define VMCB_EFER 0x4d0
#define VMCB_CR4 0x548
#define VMCB_CR3 0x550
#define VMCB_CR0 0x558
#define VMCB_DR7 0x560
#define VMCB_DR6 0x568
#define VMCB_RFLAGS 0x570
#define VMCB_RIP 0x578
#define VMCB_RSP 0x5d8
#define VMCB_RAX 0x5f8
#define VMCB_CR2 0x640
#define VMCB_GPAT 0x668

#define MISC1_INTR (1u << 0)
#define MISC1_NMI (1u << 1)
#define MISC1_VINTR (1u << 4)
#define MISC1_CPUID (1u << 18)
#define MISC1_INVD (1u << 22)
#define MISC1_HLT (1u << 24)
#define MISC1_INVLPGA (1u << 26)
#define MISC1_IOIO (1u << 27)
#define MISC1_MSR (1u << 28)
#define MISC1_SHUTDOWN (1u << 31)
#define MISC2_SVM_INSNS 0x7fu /* VMRUN VMMCALL VMLOAD VMSAVE STGI CLGI SKINIT */
#define MISC2_XSETBV (1u << 13)
#define VINTR_MASKING (1ull << 24)
#define VINTR_IRQ (1ull << 8)       /* V_IRQ: a virtual interrupt is pending */
#define VINTR_PRIO (0xfull << 16)  /* V_INTR_PRIO: above any TPR */
#define VINTR_IGN_TPR (1ull << 20)
#define TLB_FLUSH_ALL 1

#define EXIT_INTR 0x60
#define EXIT_NMI 0x61
#define EXIT_VINTR 0x64
#define EXIT_CPUID 0x72
#define EXIT_INVLPGA 0x7a
#define EXIT_HLT 0x78
#define EXIT_IOIO 0x7b
#define EXIT_MSR 0x7c
#define EXIT_SHUTDOWN 0x7f
#define EXIT_VMRUN 0x80
#define EXIT_VMMCALL 0x81
#define EXIT_VMLOAD 0x82
#define EXIT_SKINIT 0x86
#define EXIT_NPF 0x400
#define NR_EXIT_HANDLERS (EXIT_SKINIT + 1)

/* IOIO EXITINFO1 */
#define IOIO_IN (1u << 0)
#define IOIO_STR (1u << 2)
#define IOIO_REP (1u << 3)

#define FIELD(vmcb, off, type) (*(type *)((u8 *)(vmcb) + (off)))

#endif
