/*
 * Send one INIT IPI from inside the Linux guest, for Lamina's isolation
 * test (a guest's INIT to an APIC ID outside its VM must change nothing):
 *
 *	lamina-ipi-test DEST
 *
 * writes the xAPIC ICR high (destination DEST) and then ICR low (INIT,
 * level assert, physical destination), which sends it, and prints
 * "LAMINA-IPI-TEST sent INIT to apic DEST". On failure it prints
 * "LAMINA-IPI-TEST failed: ..." instead, so a test sees a line either way.
 *
 * Why not two busybox `devmem` calls: the ICR is per CPU and the kernel
 * uses it too. The second devmem can run on another CPU, whose ICR high
 * still holds the kernel's last destination, so the INIT lands on a CPU of
 * this very VM (seen under QEMU with -smp 2: an RCU stall). Here both
 * writes come from one process pinned to one CPU, back to back; only an
 * interrupt that sends an IPI between the two stores could still get in.
 *
 * The kernel marks the APIC page busy, and Debian's CONFIG_IO_STRICT_DEVMEM
 * then refuses it through /dev/mem: boot with iomem=relaxed.
 *
 * Built static by tools/linux-guest/mkinitramfs.py: the initramfs has no
 * libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define APIC_BASE 0xfee00000UL
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define ICR_INIT_ASSERT_PHYS 0x00004500u /* INIT, level assert, physical */

/* err: an errno value, or 0 when there is none to show. */
static int fail(const char *what, int err)
{
	if (err)
		printf("LAMINA-IPI-TEST failed: %s: %s\n", what, strerror(err));
	else
		printf("LAMINA-IPI-TEST failed: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	volatile uint32_t *apic;
	unsigned long dest;
	cpu_set_t cpus;
	char *end;
	int cpu, fd;

	if (argc != 2)
		return fail("usage: lamina-ipi-test DEST", 0);
	dest = strtoul(argv[1], &end, 0);
	if (!*argv[1] || *end || dest > 255)
		return fail("DEST must be an APIC ID, 0 to 255", 0);

	cpu = sched_getcpu();
	if (cpu < 0)
		return fail("sched_getcpu", errno);
	CPU_ZERO(&cpus);
	CPU_SET(cpu, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		return fail("sched_setaffinity", errno);

	fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (fd < 0)
		return fail("/dev/mem", errno);
	apic = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    APIC_BASE);
	if (apic == MAP_FAILED)
		return fail("mmap of the APIC page (boot with iomem=relaxed)",
			    errno);

	apic[APIC_ICR_HIGH / 4] = (uint32_t)dest << 24;
	apic[APIC_ICR_LOW / 4] = ICR_INIT_ASSERT_PHYS;

	printf("LAMINA-IPI-TEST sent INIT to apic %lu\n", dest);
	return 0;
}
