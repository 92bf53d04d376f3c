; vcpu_idle_wait(const unsigned long *requests): sleep on this CPU until
; an interrupt or an NMI, unless *requests is already non-zero.
;
; STI's one-instruction shadow closes the race with a maskable interrupt
; (the wake IPI) arriving between the test and HLT. An NMI (vcpu_kick's)
; is not held back by it: the NMI handler moves an interrupted RIP that
; lies in [idle_window_start, idle_window_hlt] to idle_window_end, so an
; NMI that lands after the test never leaves the CPU asleep in the HLT.

section .text
bits 64
global vcpu_idle_wait, idle_window_start, idle_window_hlt, idle_window_end
vcpu_idle_wait:
idle_window_start:
	cmp qword [rdi], 0
	jne idle_window_end
	sti
idle_window_hlt:
	hlt
idle_window_end:
	cli
	ret
