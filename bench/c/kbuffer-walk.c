// Reference for `npm run bench decode`: walk sub-buffer files with libtraceevent's kbuffer API
// (Debian libtraceevent-dev) and report events/s. Same work as the TypeScript side: every event's
// timestamp and common_pid are read (xor / sum checksums printed so the two can be compared).
// usage: kbuffer-walk ROUNDS FILE...   (files of 4096-byte sub-buffers, x86_64 little endian)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <traceevent/kbuffer.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: kbuffer-walk ROUNDS FILE...\n"); return 2; }
	int rounds = atoi(argv[1]);
	size_t total = 0;
	char *bufs[16]; size_t lens[16]; int nfiles = argc - 2;
	for (int f = 0; f < nfiles && f < 16; f++) {
		FILE *fp = fopen(argv[f + 2], "rb");
		if (!fp) { perror(argv[f + 2]); return 1; }
		fseek(fp, 0, SEEK_END); lens[f] = ftell(fp); fseek(fp, 0, SEEK_SET);
		bufs[f] = malloc(lens[f]);
		if (fread(bufs[f], 1, lens[f], fp) != lens[f]) { perror("read"); return 1; }
		fclose(fp);
		total += lens[f];
	}
	struct kbuffer *kb = kbuffer_alloc(KBUFFER_LSIZE_8, KBUFFER_ENDIAN_LITTLE);
	unsigned long long events = 0, ts;
	unsigned int txor = 0; long long psum = 0;
	double t0 = now();
	for (int r = 0; r < rounds; r++) {
		for (int f = 0; f < nfiles; f++) {
			for (size_t off = 0; off + 4096 <= lens[f]; off += 4096) {
				kbuffer_load_subbuffer(kb, bufs[f] + off);
				void *rec = kbuffer_read_event(kb, &ts);
				while (rec) {
					events++;
					txor ^= (unsigned int)ts;
					psum += *(int *)((char *)rec + 4);
					rec = kbuffer_next_event(kb, &ts);
				}
			}
		}
	}
	double el = now() - t0;
	printf("{\"events\": %llu, \"seconds\": %.6f, \"bytes\": %zu, \"txor\": %u, \"psum\": %lld}\n",
	       events, el, total * (size_t)rounds, txor, psum);
	kbuffer_free(kb);
	return 0;
}
