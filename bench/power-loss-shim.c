// A power-loss model for the chaos run (bench/chaos.ts --power-loss), loaded into the broker with
// LD_PRELOAD. It watches the files named in POWERLOSS_FILES (absolute paths, comma-separated: the
// database and its WAL) and keeps, for each, a shadow copy in POWERLOSS_SHADOW holding only what
// an fsync or fdatasync has made durable: writes (libc's pwrite64, which SQLite uses) and
// truncations are remembered as dirty ranges, and a sync copies the file's current bytes for those
// ranges (and its size) into the shadow. Bun's own node:fs writes make raw system calls this shim
// cannot see; a file that grew past what it saw aborts the broker rather than model it wrongly. After
// a SIGKILL the harness puts the shadows in place of the files, which is what the disk would hold
// had the power failed at that moment with every unsynced write lost (LazyFS's "clear cache").
//
// Not modelled: directory entries (a created file is assumed to survive, empty if never synced),
// torn sectors, reordering among synced writes, and writes through mmap (SQLite only reads
// through mmap, and the -shm index is rebuilt after a crash). Built by bench/power-loss.ts with cc.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FILES 8

typedef struct { off_t start, end; } range_t;

typedef struct {
  char path[PATH_MAX];
  char shadow[PATH_MAX];
  range_t *dirty;
  size_t count, cap;
  /** The size the writes seen so far give the file (-1: not read from the shadow yet). A file
   *  larger at a sync was written past this shim, and the model would be wrong: it aborts. */
  off_t known;
} tracked_t;

static tracked_t files[MAX_FILES];
static int nfiles = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *what) {
  char msg[256];
  int n = snprintf(msg, sizeof msg, "power-loss-shim: %s failed: %s\n", what, strerror(errno));
  syscall(SYS_write, 2, msg, (size_t)n);
  abort();
}

// Called with the lock held.
static void load_config(void) {
  if (nfiles >= 0) return;
  nfiles = 0;
  const char *list = getenv("POWERLOSS_FILES"), *dir = getenv("POWERLOSS_SHADOW");
  if (!list || !dir) return;
  char buf[8192];
  snprintf(buf, sizeof buf, "%s", list);
  for (char *save = NULL, *p = strtok_r(buf, ",", &save); p && nfiles < MAX_FILES; p = strtok_r(NULL, ",", &save)) {
    tracked_t *f = &files[nfiles++];
    snprintf(f->path, sizeof f->path, "%s", p);
    const char *base = strrchr(p, '/');
    snprintf(f->shadow, sizeof f->shadow, "%s/%s", dir, base ? base + 1 : p);
    struct stat st;
    f->known = stat(f->shadow, &st) == 0 ? st.st_size : 0;
  }
}

// The tracked file `fd` is open on, or NULL. Called with the lock held.
static tracked_t *tracked(int fd) {
  load_config();
  if (nfiles == 0 || fd < 0) return NULL;
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return NULL;
  target[n] = '\0';
  for (int i = 0; i < nfiles; i++)
    if (strcmp(files[i].path, target) == 0) return &files[i];
  return NULL;
}

static void mark(int fd, off_t start, off_t len, off_t size_after) {
  pthread_mutex_lock(&lock);
  tracked_t *f = tracked(fd);
  if (f && size_after >= 0) f->known = size_after;
  else if (f && start + len > f->known) f->known = start + len;
  if (f && len > 0) {
    range_t *last = f->count ? &f->dirty[f->count - 1] : NULL;
    if (last && start <= last->end && start + len >= last->start) {
      if (start < last->start) last->start = start;
      if (start + len > last->end) last->end = start + len;
    } else {
      if (f->count == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->dirty = realloc(f->dirty, f->cap * sizeof(range_t));
        if (!f->dirty) die("realloc");
      }
      f->dirty[f->count++] = (range_t){start, start + len};
    }
  }
  pthread_mutex_unlock(&lock);
}

// What a sync makes durable: the file's size and the bytes of every dirty range, read back from
// the file as it is now. Shadow I/O goes through raw syscalls, past this shim's own wrappers.
static void make_durable(int fd) {
  pthread_mutex_lock(&lock);
  tracked_t *f = tracked(fd);
  if (f) {
    struct stat st;
    if (fstat(fd, &st) != 0) die("fstat");
    if (st.st_size > f->known) {
      errno = EINVAL;
      die("a write this shim did not see (not through libc's pwrite64): the model");
    }
    // The caller's descriptor may be write-only (the broker opens the WAL to sync it "a").
    int real = (int)syscall(SYS_openat, AT_FDCWD, f->path, O_RDONLY);
    int shadow = (int)syscall(SYS_openat, AT_FDCWD, f->shadow, O_WRONLY | O_CREAT, 0600);
    if (real < 0 || shadow < 0) die("open");
    if (syscall(SYS_ftruncate, shadow, st.st_size) != 0) die("ftruncate shadow");
    static char buf[1 << 16];
    for (size_t i = 0; i < f->count; i++) {
      off_t end = f->dirty[i].end < st.st_size ? f->dirty[i].end : st.st_size;
      for (off_t at = f->dirty[i].start; at < end;) {
        size_t want = (size_t)(end - at) < sizeof buf ? (size_t)(end - at) : sizeof buf;
        ssize_t got = (ssize_t)syscall(SYS_pread64, real, buf, want, at);
        if (got <= 0) die("pread");
        if ((ssize_t)syscall(SYS_pwrite64, shadow, buf, (size_t)got, at) != got) die("pwrite shadow");
        at += got;
      }
    }
    f->count = 0;
    syscall(SYS_close, real);
    syscall(SYS_close, shadow);
  }
  pthread_mutex_unlock(&lock);
}

// The libc function this one wraps.
#define REAL(name) static __typeof__(name) *real_##name; if (!real_##name) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t pwrite64(int fd, const void *b, size_t n, off_t at) {
  REAL(pwrite64);
  // The size first: a sync on another thread (the WAL flusher's) may look at the file between the
  // write and its range being marked. The range only after: such a sync must not consume it.
  mark(fd, at + (off_t)n, 0, -1);
  ssize_t r = real_pwrite64(fd, b, n, at);
  if (r > 0) mark(fd, at, r, -1);
  return r;
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t at) { return pwrite64(fd, b, n, at); }

// A shrink or a growth changes bytes the shadow may hold: everything from the smaller size on is
// dirty until a sync says what the file holds there.
static void mark_resize(int fd, off_t len) {
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  off_t from = len < st.st_size ? len : st.st_size, to = len > st.st_size ? len : st.st_size;
  mark(fd, from, to - from, len);
}

int ftruncate64(int fd, off_t len) {
  REAL(ftruncate64);
  mark_resize(fd, len);
  return real_ftruncate64(fd, len);
}

int ftruncate(int fd, off_t len) { return ftruncate64(fd, len); }

int fsync(int fd) {
  REAL(fsync);
  make_durable(fd);
  return real_fsync(fd);
}

int fdatasync(int fd) {
  REAL(fdatasync);
  make_durable(fd);
  return real_fdatasync(fd);
}
