/*
 * vmgate-vmm: runs one virtual machine.  Alone, with its serial console on
 * the terminal, like firecracker or lkvm run; or under vmgated, which passes
 * the control channel with --ctl-fd.
 */
#include "demo_image.h"
#include "guestmem.h"
#include "logesc.h"
#include "monitor.h"
#include "sandbox.h"
#include "vm.h"
#include "vnc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KERNEL (512ULL << 20)
#define MAX_INITRD (2ULL << 30)

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vmgate-vmm [--kernel PATH] [--initrd PATH] "
	    "[--cmdline STR]\n"
	    "                  [--mem SIZE] [--cpus N] [--console "
	    "stdio|none]\n"
	    "                  [--console-buffer SIZE]\n"
	    "                  [--on-reboot restart|exit] [--ctl-fd FD "
	    "--name VM]\n"
	    "                  [--display WxH|none] [--vnc ADDR:PORT|unix:PATH]"
	    "\n"
	    "                  [--screenshot PATH] [--vnc-damage log|full]\n"
	    "                  [--no-sandbox]\n"
	    "\n"
	    "  --kernel PATH   PVH ELF (e.g. vmlinux) or Linux bzImage;\n"
	    "                  default: the built-in demo guest\n"
	    "  --initrd PATH   initial ramdisk\n"
	    "  --cmdline STR   kernel command line\n"
	    "  --mem SIZE      guest RAM, e.g. 64M, 1G (default 64M)\n"
	    "  --cpus N        vCPUs, 1-%d (default 1)\n"
	    "  --console MODE  stdio (default) or none\n"
	    "  --console-buffer SIZE  guest output kept while the reader "
	    "is slow\n"
	    "                  (default 256K; 4K-64M)\n"
	    "  --on-reboot A   restart the guest (default) or exit with "
	    "status 10\n"
	    "  --ctl-fd FD     control channel to vmgated (SOCK_SEQPACKET);\n"
	    "                  replaces the stdio console\n"
	    "  --name VM       the VM's name, checked against the gateway's\n"
	    "  --display WxH   the framebuffer's size (default 1024x768), "
	    "or none\n"
	    "  --vnc WHERE     serve the display to VNC viewers on a loopback\n"
	    "                  address (127.0.0.1:5900, [::1]:5900) or a UNIX\n"
	    "                  socket (unix:PATH); no authentication: for\n"
	    "                  debugging, vmgated serves the network "
	    "(repeatable)\n"
	    "  --screenshot PATH  write a PNG of the screen to PATH on "
	    "SIGUSR1\n"
	    "  --vnc-damage M  log (default): send what the guest changed\n"
	    "                  (dirty log); full: the whole screen every "
	    "frame,\n"
	    "                  as kvmtool does (benchmarks and debugging "
	    "only)\n"
	    "  --no-sandbox    debugging only: run without the sandbox\n"
	    "                  (README: \"The monitor's sandbox\")\n"
	    "\n"
	    "On a terminal the console is raw; Ctrl-] . quits.\n"
	    "Exit status: 0 guest powered off, 1 monitor error, 2 usage,\n"
	    "10 guest rebooted, 11 triple fault, 12 KVM internal error,\n"
	    "13 other crash, 15 guest panic (pvpanic), 20 stopped by "
	    "signal\nor escape key.\n",
	    VM_MAX_CPUS);
}

/* Maps a whole file read-only; returns NULL with a message in ERR. */
/* An error line for stderr (the gateway's log when it runs us): it may
 * quote a kernel file's contents, so it goes through logesc(). */
static void
print_error(const char *err)
{
	char esc[1024];

	logesc_mem(esc, sizeof(esc), err, strlen(err), LOGESC_KEEP_BACKSLASH);
	fprintf(stderr, "vmgate-vmm: %s\n", esc);
}

static const uint8_t *
map_file(const char *path, uint64_t max, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	void *p = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(err, errlen, "%s: %lld bytes, larger than %llu MiB",
			 path, (long long)st.st_size,
			 (unsigned long long)(max >> 20));
		goto out;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "%s: file is empty", path);
		goto out;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		p = NULL;
		goto out;
	}
	*len = (size_t)st.st_size;
out:
	close(fd);
	return p;
}

static int
parse_int(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 1 << 20)
		return -1;
	*out = (int)v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"kernel", required_argument, NULL, 'k'},
	    {"initrd", required_argument, NULL, 'i'},
	    {"cmdline", required_argument, NULL, 'c'},
	    {"mem", required_argument, NULL, 'm'},
	    {"cpus", required_argument, NULL, 'p'},
	    {"console", required_argument, NULL, 'C'},
	    {"on-reboot", required_argument, NULL, 'r'},
	    {"ctl-fd", required_argument, NULL, 'f'},
	    {"name", required_argument, NULL, 'n'},
	    {"console-buffer", required_argument, NULL, 'b'},
	    {"display", required_argument, NULL, 'd'},
	    {"vnc", required_argument, NULL, 'v'},
	    {"screenshot", required_argument, NULL, 's'},
	    {"no-sandbox", no_argument, NULL, 'S'},
	    {"vnc-damage", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct vm_config cfg = {.mem = 64ULL << 20,
				.ncpus = 1,
				.console_buffer = CONSOLE_CAP_DEFAULT,
				.display_w = DISPLAY_DEFAULT_W,
				.display_h = DISPLAY_DEFAULT_H};
	const char *vnc_spec[VNC_MAX_LISTEN];
	int nvnc = 0;
	struct monitor_options mopt = {.restart_on_reboot = 1,
				       .stdio = 1,
				       .ctl_fd = -1,
				       .name = "vm",
				       .screenshot_fd = -1};
	const char *initrd_path = NULL;
	char err[512];
	struct vm vm;
	int c, status, sandbox = 1;

	cfg.kernel_path = "demo";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			cfg.kernel_path = optarg;
			break;
		case 'i':
			initrd_path = optarg;
			break;
		case 'c':
			cfg.cmdline = optarg;
			break;
		case 'm':
			if (guestmem_parse_size(optarg, &cfg.mem) != 0) {
				fprintf(stderr,
					"vmgate-vmm: --mem %s: not a "
					"size (e.g. 64M, 1G)\n",
					optarg);
				return VMSTATE_EXIT_USAGE;
			}
			break;
		case 'p':
			if (parse_int(optarg, &cfg.ncpus) != 0) {
				fprintf(stderr,
					"vmgate-vmm: --cpus %s: not a "
					"number\n",
					optarg);
				return VMSTATE_EXIT_USAGE;
			}
			break;
		case 'C':
			if (strcmp(optarg, "stdio") == 0) {
				mopt.stdio = 1;
			} else if (strcmp(optarg, "none") == 0) {
				mopt.stdio = 0;
			} else {
				fprintf(stderr,
					"vmgate-vmm: --console %s: "
					"want stdio or none\n",
					optarg);
				return VMSTATE_EXIT_USAGE;
			}
			break;
		case 'r':
			if (strcmp(optarg, "restart") == 0) {
				mopt.restart_on_reboot = 1;
			} else if (strcmp(optarg, "exit") == 0) {
				mopt.restart_on_reboot = 0;
			} else {
				fprintf(stderr,
					"vmgate-vmm: --on-reboot %s: "
					"want restart or exit\n",
					optarg);
				return VMSTATE_EXIT_USAGE;
			}
			break;
		case 'f':
			if (parse_int(optarg, &mopt.ctl_fd) != 0) {
				fprintf(stderr,
					"vmgate-vmm: --ctl-fd %s: not "
					"a file descriptor\n",
					optarg);
				return VMSTATE_EXIT_USAGE;
			}
			break;
		case 'n':
			mopt.name = optarg;
			break;
		case 'b': {
			uint64_t v;
			if (guestmem_parse_size(optarg, &v) != 0 ||
			    v > CONSOLE_CAP_MAX) {
				fprintf(stderr,
					"vmgate-vmm: --console-buffer "
					"%s: want a size, 4K to 64M\n",
					optarg);
				return VMSTATE_EXIT_USAGE;
			}
			cfg.console_buffer = (size_t)v;
			break;
		}
		case 'd':
			if (strcmp(optarg, "none") == 0) {
				cfg.display_w = cfg.display_h = 0;
			} else if (display_parse_size(optarg, &cfg.display_w,
						      &cfg.display_h, err,
						      sizeof(err)) != 0) {
				fprintf(stderr, "vmgate-vmm: --display %s\n",
					err);
				return VMSTATE_EXIT_USAGE;
			}
			break;
		case 'v':
			if (nvnc == VNC_MAX_LISTEN) {
				fprintf(stderr,
					"vmgate-vmm: --vnc: at most %d\n",
					VNC_MAX_LISTEN);
				return VMSTATE_EXIT_USAGE;
			}
			vnc_spec[nvnc++] = optarg;
			break;
		case 's':
			mopt.screenshot = optarg;
			break;
		case 'S':
			sandbox = 0;
			break;
		case 'D':
			if (strcmp(optarg, "log") == 0) {
				mopt.vnc_damage_full = 0;
			} else if (strcmp(optarg, "full") == 0) {
				mopt.vnc_damage_full = 1;
			} else {
				fprintf(stderr,
					"vmgate-vmm: --vnc-damage %s: "
					"want log or full\n",
					optarg);
				return VMSTATE_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return VMSTATE_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vmgate-vmm: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return VMSTATE_EXIT_USAGE;
	}

	if (mopt.ctl_fd >= 0) {
		int type = 0;
		socklen_t tl = sizeof(type);
		if (getsockopt(mopt.ctl_fd, SOL_SOCKET, SO_TYPE, &type, &tl) !=
			0 ||
		    type != SOCK_SEQPACKET) {
			fprintf(stderr,
				"vmgate-vmm: --ctl-fd %d: not a "
				"SOCK_SEQPACKET socket\n",
				mopt.ctl_fd);
			return VMSTATE_EXIT_USAGE;
		}
		mopt.stdio = 0; /* the gateway is the console */
	}
	if (strcmp(cfg.kernel_path, "demo") == 0) {
		cfg.kernel = demo_image(&cfg.kernel_len);
		cfg.kernel_path = "built-in demo guest";
	} else if ((cfg.kernel = map_file(cfg.kernel_path, MAX_KERNEL,
					  &cfg.kernel_len, err, sizeof(err))) ==
		   NULL) {
		print_error(err);
		return VMSTATE_EXIT_ERROR;
	}
	if (initrd_path != NULL &&
	    (cfg.initrd = map_file(initrd_path, MAX_INITRD, &cfg.initrd_len,
				   err, sizeof(err))) == NULL) {
		print_error(err);
		return VMSTATE_EXIT_ERROR;
	}

	if ((nvnc > 0 || mopt.screenshot != NULL) && cfg.display_w == 0) {
		fprintf(stderr, "vmgate-vmm: --vnc and --screenshot need a "
				"display (--display none was given)\n");
		return VMSTATE_EXIT_USAGE;
	}

	/* The sandbox goes on once the VM and what serves its display are
	 * set up (listening sockets, the screenshot file) and before its
	 * first vCPU runs: nothing is opened by path after this
	 * (sandbox.h). */
	if (vm_create(&vm, &cfg, err, sizeof(err)) != 0 ||
	    monitor_display(&vm, &mopt, vnc_spec, nvnc, err, sizeof(err)) !=
		0 ||
	    (sandbox && sandbox_enter(err, sizeof(err)) != 0)) {
		print_error(err);
		vnc_destroy(mopt.vnc);
		vm_destroy(&vm);
		return VMSTATE_EXIT_ERROR;
	}
	sandbox_test_hook(mopt.name);
	/* Under a gateway the guest starts at its HELLO (monitor.c), so that
	 * everything the guest does reaches the gateway's audit: a guest that
	 * resets at once reset before the channel was up on a PVM host. */
	if (mopt.ctl_fd < 0 && vm_start(&vm, err, sizeof(err)) != 0) {
		print_error(err);
		vnc_destroy(mopt.vnc);
		vm_destroy(&vm);
		return VMSTATE_EXIT_ERROR;
	}
	status = monitor_run(&vm, &mopt);
	vnc_destroy(mopt.vnc);
	vm_destroy(&vm);
	return status;
}
