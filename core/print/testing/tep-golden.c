// Golden-text oracle for core/print tests: renders events with the system's libtraceevent
// (the library trace-cmd report uses), so our renderer can be diffed against the real thing.
// Test-only helper; built by core/print/testing/tep-golden.ts into node_modules/.cache.
//
// Build: cc -O2 -o tep-golden tep-golden.c -ltraceevent
// Usage: tep-golden [--plugins] [--big-endian] [--long-size 4|8] [--kallsyms F] [--printk F]
//                   [--cmdlines F] FORMAT_DIR MODE FILE
//   FORMAT_DIR: <dir>/<system>/<event>/format files (header_page etc. are ignored)
//   MODE pages:   FILE is a sequence of 4096-byte x86_64 sub-buffers (trace_pipe_raw reads)
//   MODE records: FILE is a sequence of [u32 little-endian length][payload bytes]
// Output: one line per event, "<common_type>\t<info>", with '\\' and '\n' escaped as \\ and \n.
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <traceevent/event-parse.h>
#include <traceevent/kbuffer.h>

#define GUARD_BYTES 65600

static char *slurp(const char *path, long *len_out)
{
	/* Read to EOF: tracefs files report a size of 0. */
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	long cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	buf[len] = 0;
	fclose(f);
	if (len_out)
		*len_out = len;
	return buf;
}

static void load_formats(struct tep_handle *tep, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *sys;
	if (!d) {
		perror(dir);
		exit(2);
	}
	while ((sys = readdir(d))) {
		if (sys->d_name[0] == '.')
			continue;
		char sdir[4096];
		snprintf(sdir, sizeof(sdir), "%s/%s", dir, sys->d_name);
		DIR *e = opendir(sdir);
		if (!e)
			continue;
		struct dirent *ev;
		while ((ev = readdir(e))) {
			if (ev->d_name[0] == '.')
				continue;
			char path[8192];
			snprintf(path, sizeof(path), "%s/%s/format", sdir, ev->d_name);
			FILE *f = fopen(path, "rb");
			if (!f)
				continue;
			fclose(f);
			long len;
			char *text = slurp(path, &len);
			tep_parse_event(tep, text, len, sys->d_name);
			free(text);
		}
		closedir(e);
	}
	closedir(d);
}

static sigjmp_buf crash_jmp;

static void on_crash(int sig)
{
	siglongjmp(crash_jmp, sig);
}

static void emit(struct tep_handle *tep, struct trace_seq *s, struct tep_record *rec)
{
	printf("%d\t", rec->size >= 2 ? tep_data_type(tep, rec) : -1);
	/* libtraceevent can crash on odd records (e.g. division by zero): report and go on. */
	if (sigsetjmp(crash_jmp, 1)) {
		printf("<<CRASH>>\n");
		trace_seq_init(s);
		return;
	}
	trace_seq_reset(s);
	tep_print_event(tep, s, rec, "%s", TEP_PRINT_INFO);
	trace_seq_terminate(s);
	for (const char *p = s->buffer; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", stdout);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else
			putchar(*p);
	}
	putchar('\n');
}

int main(int argc, char **argv)
{
	struct tep_handle *tep = tep_alloc();
	int plugins = 0;
	int i = 1;

	tep_set_long_size(tep, 8);
	tep_set_file_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(tep, TEP_LITTLE_ENDIAN);
	for (; i < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--plugins")) {
			plugins = 1;
			i--;
			continue;
		}
		if (!strcmp(argv[i], "--big-endian")) {
			tep_set_file_bigendian(tep, TEP_BIG_ENDIAN);
			i--;
			continue;
		}
		if (i + 1 >= argc)
			return 2;
		if (!strcmp(argv[i], "--long-size")) {
			tep_set_long_size(tep, atoi(argv[i + 1]));
			continue;
		}
		char *text = slurp(argv[i + 1], NULL);
		if (!strcmp(argv[i], "--kallsyms"))
			tep_parse_kallsyms(tep, text);
		else if (!strcmp(argv[i], "--printk"))
			tep_parse_printk_formats(tep, text);
		else if (!strcmp(argv[i], "--cmdlines"))
			tep_parse_saved_cmdlines(tep, text);
		free(text);
	}
	if (argc - i != 3) {
		fprintf(stderr, "usage: tep-golden [opts] FORMAT_DIR pages|records FILE\n");
		return 2;
	}
	if (plugins)
		tep_load_plugins(tep);
	signal(SIGSEGV, on_crash);
	signal(SIGFPE, on_crash);
	signal(SIGBUS, on_crash);
	load_formats(tep, argv[i]);

	long len;
	char *data = slurp(argv[i + 2], &len);
	struct trace_seq s;
	trace_seq_init(&s);
	struct tep_record rec;
	memset(&rec, 0, sizeof(rec));

	if (!strcmp(argv[i + 1], "pages")) {
		struct kbuffer *kbuf = kbuffer_alloc(KBUFFER_LSIZE_8, KBUFFER_ENDIAN_LITTLE);
		for (long off = 0; off + 4096 <= len; off += 4096) {
			unsigned long long ts;
			kbuffer_load_subbuffer(kbuf, data + off);
			void *ev = kbuffer_read_event(kbuf, &ts);
			while (ev) {
				rec.data = ev;
				rec.size = kbuffer_event_size(kbuf);
				rec.ts = ts;
				emit(tep, &s, &rec);
				ev = kbuffer_next_event(kbuf, &ts);
			}
		}
		kbuffer_free(kbuf);
	} else {
		for (long off = 0; off + 4 <= len;) {
			unsigned int n = *(unsigned int *)(data + off);
			off += 4;
			if (off + n > (unsigned long)len)
				break;
			/* Copy so reads past the record hit GUARD_BYTES zeros, not the next record. */
			char *copy = calloc(1, n + GUARD_BYTES);
			memcpy(copy, data + off, n);
			rec.data = copy;
			rec.size = n;
			emit(tep, &s, &rec);
			free(copy);
			off += n;
		}
	}
	trace_seq_destroy(&s);
	fflush(stdout);
	return 0;
}
