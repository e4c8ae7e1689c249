/*
 * rb-probe: drives one CPU buffer of a tracefs instance through the mmap interface, for the sim
 * source's differential test (ring-buffer-model.kernel.test.ts compiles it into a temp dir).
 *
 * usage: rb-probe <instance dir> <cpu> [lazy]   commands on stdin, one per line
 * ("lazy": map only at the M command, so data can be written before the first mapping):
 *   M                map the meta page and the sub-buffers (ids are assigned now)
 *   w <len> [count]  write <count> raw markers of <len> bytes (>= 4) to trace_marker_raw
 *   g                TRACE_MMAP_IOCTL_GET_READER        -> "g <ret or -errno>"
 *   m                meta fields                        -> "m id=.. read=.. entries=.. ..."
 *   p <id>           sub-buffer structure               -> "p <id> c=<commit word> <records> [lost=..]"
 *   a                every sub-buffer (p for each id)
 *   s <ms>           sleep
 *   t                reset the buffer (open trace with O_TRUNC, like `echo > trace`)
 *   q                quit
 * The process pins itself to <cpu> so its markers land in that CPU's buffer.
 * Record tokens: D<type_len>/<bytes> data, P<delta>/<bytes> padding, N null padding, E extend,
 * S time stamp. Times are not printed: only structure is compared.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

struct meta {
	uint32_t meta_page_size, meta_struct_len, subbuf_size, nr_subbufs;
	uint64_t lost_events;
	uint32_t reader_id, reader_read;
	uint64_t flags, entries, overrun, read, r1, r2;
};

static volatile struct meta *meta; /* NULL until mapped */
static uint8_t *data;
static uint32_t subbuf_size, nr_subbufs;

static void print_page(uint32_t id)
{
	const uint8_t *page = data + (size_t)id * subbuf_size;
	uint64_t commit;
	uint32_t low, size, off = 0, dsize = subbuf_size - 16;

	memcpy(&commit, page + 8, 8);
	low = (uint32_t)commit;
	size = low & 0x7ffffff;
	printf("p %u c=%016llx", id, (unsigned long long)commit);
	while (off < size && off + 4 <= dsize) {
		uint32_t w, tl, delta, a0 = 0;
		memcpy(&w, page + 16 + off, 4);
		tl = w & 31;
		delta = w >> 5;
		if (off + 8 <= dsize)
			memcpy(&a0, page + 16 + off + 4, 4);
		if (tl >= 1 && tl <= 28) {
			printf(" D%u/%u", tl, 4 + 4 * tl);
			off += 4 + 4 * tl;
		} else if (tl == 0) {
			printf(" D0/%u", 4 + a0);
			off += 4 + a0;
		} else if (tl == 29) {
			if (delta == 0 && a0 == 0) {
				printf(" N");
				break;
			}
			printf(" P%u/%u", delta == 1 ? 1 : (delta ? 2 : 0), 4 + a0);
			off += 4 + a0;
		} else if (tl == 30) {
			printf(" E");
			off += 8;
		} else {
			printf(" S");
			off += 8;
		}
	}
	if ((low & 0xc0000000u) == 0xc0000000u && size + 8 <= dsize) {
		uint64_t lost;
		memcpy(&lost, page + 16 + size, 8);
		printf(" lost=%llu", (unsigned long long)lost);
	}
	printf("\n");
}

static int do_map(int fd)
{
	uint32_t mps;
	void *m = mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED) {
		perror("mmap meta");
		return 1;
	}
	mps = ((struct meta *)m)->meta_page_size;
	subbuf_size = ((struct meta *)m)->subbuf_size;
	nr_subbufs = ((struct meta *)m)->nr_subbufs;
	munmap(m, getpagesize());
	m = mmap(NULL, mps, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("remap meta");
		return 1;
	}
	meta = m;
	data = mmap(NULL, (size_t)subbuf_size * nr_subbufs, PROT_READ, MAP_SHARED, fd, mps);
	if (data == MAP_FAILED) {
		perror("mmap data");
		return 1;
	}
	printf("mapped subbuf_size=%u nr_subbufs=%u\n", subbuf_size, nr_subbufs);
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096], line[256], buf[8192];
	uint32_t seq = 0;
	int cpu, fd, mfd, lazy;
	cpu_set_t set;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s <instance dir> <cpu> [lazy]\n", argv[0]);
		return 2;
	}
	lazy = argc == 4 && !strcmp(argv[3], "lazy");
	cpu = atoi(argv[2]);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/trace_pipe_raw", argv[1], cpu);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	if (!lazy && do_map(fd))
		return 1;
	snprintf(path, sizeof(path), "%s/trace_marker_raw", argv[1]);
	mfd = open(path, O_WRONLY | O_CLOEXEC);
	if (mfd < 0) {
		perror(path);
		return 1;
	}
	memset(buf, 0xab, sizeof(buf));
	printf("ready\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		unsigned a = 0, b = 1;
		if (!meta && strchr("mpa", line[0])) {
			printf("nomap\n");
			fflush(stdout);
			continue;
		}
		switch (line[0]) {
		case 'M':
			if (!meta && do_map(fd))
				return 1;
			break;
		case 'w':
			sscanf(line + 1, "%u %u", &a, &b);
			for (unsigned i = 0; i < b; i++) {
				memcpy(buf, &seq, 4);
				seq++;
				if (write(mfd, buf, a) != (ssize_t)a)
					printf("werr %d\n", errno);
			}
			break;
		case 'g':
			printf("g %d\n", ioctl(fd, 0x5220) ? -errno : 0);
			break;
		case 'm':
			printf("m id=%u read=%u entries=%llu overrun=%llu readcnt=%llu lost=%llu flags=%llu\n",
			       meta->reader_id, meta->reader_read, (unsigned long long)meta->entries,
			       (unsigned long long)meta->overrun, (unsigned long long)meta->read,
			       (unsigned long long)meta->lost_events, (unsigned long long)meta->flags);
			break;
		case 'p':
			sscanf(line + 1, "%u", &a);
			if (a < nr_subbufs)
				print_page(a);
			break;
		case 'a':
			for (unsigned i = 0; i < nr_subbufs; i++)
				print_page(i);
			break;
		case 's':
			sscanf(line + 1, "%u", &a);
			usleep(a * 1000);
			break;
		case 't': {
			char tp[4096];
			int tfd;
			snprintf(tp, sizeof(tp), "%s/trace", argv[1]);
			tfd = open(tp, O_WRONLY | O_TRUNC | O_CLOEXEC);
			if (tfd < 0)
				printf("terr %d\n", errno);
			else
				close(tfd);
			break;
		}
		case 'q':
			return 0;
		default:
			break;
		}
		fflush(stdout);
	}
	return 0;
}
