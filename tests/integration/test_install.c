/* test_install.c — make install into a temporary DESTDIR: every file in
 * place with its mode, the installed programs run, the man pages and the
 * systemd unit pass their checkers, and make uninstall removes exactly what
 * install put there. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/version.h"
#include "test.h"

/* The files of `make install` under PREFIX (the Makefile's INSTALLED). */
static const struct {
    const char *path; /* below PREFIX */
    const char *source; /* the file it must equal, "" for a program, NULL when rewritten */
    mode_t mode;
} files[] = {
    {"bin/abstat", "", 0755},
    {"sbin/abstatd", "", 0755},
    {"share/man/man1/abstat.1", "dist/abstat.1", 0644},
    {"share/man/man8/abstatd.8", "dist/abstatd.8", 0644},
    {"lib/systemd/system/abstatd.service", NULL, 0644},
    {"lib/sysusers.d/abstat.conf", "dist/abstat.sysusers", 0644},
    {"share/doc/abstat/tokens.example", "dist/tokens.example", 0644},
    {"share/doc/abstat/LICENSE", "LICENSE", 0644},
    {"share/doc/abstat/README.md", "README.md", 0644},
};
#define NFILES (sizeof files / sizeof files[0])

static char build_dir[1024]; /* BUILD of the programs under test, for make */
static char bin_dir[1024];   /* ABSTAT_BIN */

/* snprintf that counts a cut text as a failure: a cut path or command
 * would test something else. */
static void sfmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void sfmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) test_fail(__FILE__, __LINE__, "text too long: %.200s", buf);
}

/* Runs a shell command; its exit code (-1 when it did not run), output in out. */
static int run(const char *cmd, char *out, size_t cap)
{
    FILE *fp = popen(cmd, "r");
    size_t n;
    int st;
    if (!fp) return -1;
    n = fread(out, 1, cap - 1, fp);
    out[n] = '\0';
    st = pclose(fp);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int have(const char *tool)
{
    char cmd[256], out[512];
    sfmt(cmd, sizeof cmd, "command -v %s", tool);
    return run(cmd, out, sizeof out) == 0;
}

/* BUILD of the programs in ABSTAT_BIN, relative to the top of the tree:
 * "bin" is the default build's, anything else BUILD/bin (the Makefile's
 * BIN rule), so the make below finds them up to date and builds nothing. */
static int find_build(void)
{
    char cwd[1024], top_bin[1100];
    const char *b = getenv("ABSTAT_BIN");
    size_t n;
    if (!getcwd(cwd, sizeof cwd)) return -1;
    sfmt(bin_dir, sizeof bin_dir, "%s", b ? b : "bin");
    if (bin_dir[0] != '/') {
        char abs[1100];
        sfmt(abs, sizeof abs, "%s/%s", cwd, bin_dir);
        sfmt(bin_dir, sizeof bin_dir, "%s", abs);
    }
    sfmt(top_bin, sizeof top_bin, "%s/bin", cwd);
    if (!strcmp(bin_dir, top_bin)) {
        sfmt(build_dir, sizeof build_dir, "build");
        return 0;
    }
    n = strlen(bin_dir);
    if (n < 5 || strcmp(bin_dir + n - 4, "/bin")) return -1;
    sfmt(build_dir, sizeof build_dir, "%.*s", (int)(n - 4), bin_dir);
    n = strlen(cwd);
    if (!strncmp(build_dir, cwd, n) && build_dir[n] == '/')
        memmove(build_dir, build_dir + n + 1, strlen(build_dir + n + 1) + 1);
    return 0;
}

/* make TARGET with the given variables, as a user would type it. The
 * test runs under `make test`: the outer make's MAKEFLAGS (its jobserver)
 * must not leak into this one. */
static int make(const char *target, const char *vars, char *out, size_t cap)
{
    char cmd[4096];
    sfmt(cmd, sizeof cmd,
             "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make -s "
             "--no-print-directory BUILD='%s' %s %s 2>&1",
             build_dir, vars, target);
    return run(cmd, out, cap);
}

static int same_file(const char *a, const char *b)
{
    char cmd[3000], out[256];
    sfmt(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return run(cmd, out, sizeof out) == 0;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;
    if (!fp) return NULL;
    if (fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) ||
        !(buf = malloc((size_t)n + 1))) {
        fclose(fp);
        return NULL;
    }
    if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        fclose(fp);
        return NULL;
    }
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* ---- walking the staged root ---------------------------------------------- */

static int walk_files;                  /* regular files and links found */
static char walk_list[8192];            /* their paths, for failure messages */
static const char *walk_skip;           /* a path to leave out of the count */

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_D || type == FTW_DP) return 0;
    if (walk_skip && !strcmp(path, walk_skip)) return 0;
    walk_files++;
    if (strlen(walk_list) + strlen(path) + 2 < sizeof walk_list) {
        strcat(walk_list, path);
        strcat(walk_list, " ");
    }
    return 0;
}

/* Files (not directories) below root, but skip. */
static int count_files(const char *root, const char *skip)
{
    walk_files = 0;
    walk_list[0] = '\0';
    walk_skip = skip;
    if (nftw(root, walk_cb, 16, FTW_PHYS) != 0) return -1;
    return walk_files;
}

/* ---- checks ----------------------------------------------------------------- */

/* Every file of files[] under root+prefix, with its mode and content. */
static void check_files(const char *root, const char *prefix, const char *sbindir)
{
    char path[2048], want[2048];
    struct stat st;
    for (size_t i = 0; i < NFILES; i++) {
        sfmt(path, sizeof path, "%s%s/%s", root, prefix, files[i].path);
        sfmt(test_context, sizeof test_context, "%s", path);
        if (stat(path, &st) != 0) {
            test_fail(__FILE__, __LINE__, "missing: %s", path);
            continue;
        }
        CHECK(S_ISREG(st.st_mode));
        CHECK_INT(st.st_mode & 07777, files[i].mode);
        if (files[i].source && !files[i].source[0]) {
            const char *name = strrchr(files[i].path, '/') + 1;
            sfmt(want, sizeof want, "%s/%s", bin_dir, name);
            CHECK(same_file(path, want));
        } else if (files[i].source) {
            CHECK(same_file(path, files[i].source));
        }
    }
    /* The unit starts the installed daemon, wherever SBINDIR is. */
    sfmt(path, sizeof path, "%s%s/lib/systemd/system/abstatd.service", root, prefix);
    {
        char *unit = slurp(path);
        char line[1200];
        sfmt(line, sizeof line, "\nExecStart=%s/abstatd --listen ", sbindir);
        CHECK(unit != NULL);
        if (unit && !strstr(unit, line))
            test_fail(__FILE__, __LINE__, "the unit does not start %s/abstatd", sbindir);
        free(unit);
    }
    test_context[0] = '\0';
}

/* The installed program answers --version with version.h's. */
static void check_version(const char *program)
{
    char cmd[2100], out[4096];
    sfmt(test_context, sizeof test_context, "%s --version", program);
    sfmt(cmd, sizeof cmd, "'%s' --version", program);
    CHECK_INT(run(cmd, out, sizeof out), 0);
    if (!strstr(out, AB_VERSION))
        test_fail(__FILE__, __LINE__, "--version says \"%.200s\", not %s", out, AB_VERSION);
    test_context[0] = '\0';
}

/* Every flag the program's --help lists is in its man page. */
static void check_flags_documented(const char *program, const char *page)
{
    char cmd[2100], out[16384];
    char *src = slurp(page), *plain, *p;
    size_t n = 0;
    CHECK(src != NULL);
    if (!src) return;
    /* "\-" is how a man page writes the "-" of a flag. */
    plain = malloc(strlen(src) + 1);
    CHECK(plain != NULL);
    if (!plain) {
        free(src);
        return;
    }
    for (const char *s = src; *s; s++) {
        if (s[0] == '\\' && s[1] == '-') s++;
        plain[n++] = *s;
    }
    plain[n] = '\0';
    sfmt(cmd, sizeof cmd, "'%s' --help 2>&1", program);
    CHECK_INT(run(cmd, out, sizeof out), 0);
    for (p = strstr(out, "--"); p; p = strstr(p + 2, "--")) {
        char flag[64];
        size_t k = 2;
        while (k < sizeof flag - 1 && ((p[k] >= 'a' && p[k] <= 'z') || p[k] == '-')) k++;
        if (k == 2) continue;
        memcpy(flag, p, k);
        flag[k] = '\0';
        sfmt(test_context, sizeof test_context, "%s in %s", flag, page);
        CHECK(strstr(plain, flag) != NULL);
    }
    test_context[0] = '\0';
    free(plain);
    free(src);
}

/* Neither groff nor man warns about the page. */
static void check_man_page(const char *page)
{
    char cmd[2100], out[8192];
    sfmt(test_context, sizeof test_context, "%s", page);
    if (have("groff")) {
        sfmt(cmd, sizeof cmd, "groff -man -z -ww -t '%s' 2>&1", page);
        CHECK_INT(run(cmd, out, sizeof out), 0);
        if (out[0]) test_fail(__FILE__, __LINE__, "groff warns: %.500s", out);
    } else {
        printf("skip: groff is not installed (scripts/test-deps.sh installs groff-base)\n");
    }
    if (have("man")) {
        sfmt(cmd, sizeof cmd, "MANWIDTH=80 man --warnings -l '%s' 2>&1 >/dev/null", page);
        CHECK_INT(run(cmd, out, sizeof out), 0);
        if (out[0]) test_fail(__FILE__, __LINE__, "man warns: %.500s", out);
    } else {
        printf("skip: man is not installed (scripts/test-deps.sh installs man-db)\n");
    }
    test_context[0] = '\0';
}

/* systemd-analyze verify on the unit as installed, with ExecStart pointed
 * at the staged daemon (verify checks that the program exists) and
 * MANPATH at the staged pages (it checks Documentation=man:abstatd(8)). */
static void check_unit(const char *tmp, const char *root, const char *prefix)
{
    char cmd[4096], out[8192], unit[2048], copy[2048];
    if (!have("systemd-analyze")) {
        printf("skip: systemd-analyze is not installed: the unit is not verified\n");
        return;
    }
    sfmt(unit, sizeof unit, "%s%s/lib/systemd/system/abstatd.service", root, prefix);
    sfmt(cmd, sizeof cmd, "mkdir -p '%s/verify'", tmp);
    CHECK_INT(run(cmd, out, sizeof out), 0);
    sfmt(copy, sizeof copy, "%s/verify/abstatd.service", tmp);
    sfmt(cmd, sizeof cmd, "sed 's|^ExecStart=%s/sbin/|ExecStart=%s%s/sbin/|' '%s' > '%s'",
             prefix, root, prefix, unit, copy);
    CHECK_INT(run(cmd, out, sizeof out), 0);
    sfmt(cmd, sizeof cmd, "MANPATH='%s%s/share/man' systemd-analyze verify '%s' 2>&1", root,
             prefix, copy);
    sfmt(test_context, sizeof test_context, "systemd-analyze verify");
    CHECK_INT(run(cmd, out, sizeof out), 0);
    if (out[0]) test_fail(__FILE__, __LINE__, "systemd-analyze verify: %.600s", out);
    /* The sandbox is meant to be tight; "OK" is systemd's best band but one. */
    sfmt(cmd, sizeof cmd, "systemd-analyze security --offline=yes '%s' 2>&1 | tail -n 1",
             copy);
    if (run(cmd, out, sizeof out) == 0 && strstr(out, "exposure level")) {
        if (!strstr(out, " OK ") && !strstr(out, "SAFE"))
            test_fail(__FILE__, __LINE__, "systemd-analyze security: %.200s", out);
        else
            test_passed++;
    }
    if (have("systemd-sysusers")) {
        sfmt(cmd, sizeof cmd, "systemd-sysusers --dry-run '%s%s/lib/sysusers.d/abstat.conf' 2>&1",
                 root, prefix);
        sfmt(test_context, sizeof test_context, "systemd-sysusers --dry-run");
        CHECK_INT(run(cmd, out, sizeof out), 0);
    }
    test_context[0] = '\0';
}

/* The default layout, with a real tokens file already in DESTDIR/etc. */
static void test_default(const char *tmp)
{
    char root[1100], vars[2300], out[16384], tokens[1200], path[1300];
    const char *secret = "admin 0123456789abcdef0123456789abcdef\n";
    char *kept;
    FILE *fp;

    sfmt(root, sizeof root, "%s/root", tmp);
    sfmt(tokens, sizeof tokens, "%s/etc/abstat/tokens", root);
    sfmt(path, sizeof path, "mkdir -p '%s/etc/abstat'", root);
    CHECK_INT(run(path, out, sizeof out), 0);
    CHECK((fp = fopen(tokens, "w")) != NULL);
    if (!fp) return;
    CHECK(fputs(secret, fp) >= 0);
    CHECK(fclose(fp) == 0);

    sfmt(vars, sizeof vars, "PREFIX=/usr/local DESTDIR='%s'", root);
    sfmt(test_context, sizeof test_context, "make install %s", vars);
    CHECK_INT(make("install", vars, out, sizeof out), 0);
    if (test_failed) printf("%s\n", out);
    test_context[0] = '\0';

    check_files(root, "/usr/local", "/usr/local/sbin");
    CHECK_INT(count_files(root, tokens), (int)NFILES);
    /* Never over the operator's tokens file. */
    kept = slurp(tokens);
    CHECK(kept && !strcmp(kept, secret));
    free(kept);

    sfmt(path, sizeof path, "%s/usr/local/bin/abstat", root);
    check_version(path);
    check_flags_documented(path, "dist/abstat.1");
    sfmt(path, sizeof path, "%s/usr/local/sbin/abstatd", root);
    check_version(path);
    check_flags_documented(path, "dist/abstatd.8");
    sfmt(path, sizeof path, "%s/usr/local/share/man/man1/abstat.1", root);
    check_man_page(path);
    sfmt(path, sizeof path, "%s/usr/local/share/man/man8/abstatd.8", root);
    check_man_page(path);
    check_unit(tmp, root, "/usr/local");

    /* Installing again over itself is fine (an upgrade). */
    CHECK_INT(make("install", vars, out, sizeof out), 0);
    CHECK_INT(count_files(root, tokens), (int)NFILES);

    sfmt(test_context, sizeof test_context, "make uninstall %s", vars);
    CHECK_INT(make("uninstall", vars, out, sizeof out), 0);
    if (out[0]) printf("%s\n", out);
    CHECK_INT(count_files(root, tokens), 0);
    if (walk_files) test_fail(__FILE__, __LINE__, "left after uninstall: %s", walk_list);
    sfmt(path, sizeof path, "%s/usr/local/share/doc/abstat", root);
    CHECK(access(path, F_OK) != 0 && errno == ENOENT);
    /* uninstall takes what install put there, nothing else. */
    kept = slurp(tokens);
    CHECK(kept && !strcmp(kept, secret));
    free(kept);
    /* Twice is harmless. */
    CHECK_INT(make("uninstall", vars, out, sizeof out), 0);
    test_context[0] = '\0';
}

/* Every directory variable is respected, and INSTALL is the installer used. */
static void test_variables(const char *tmp)
{
    char root[1100], vars[3000], out[16384], path[1300], log[1200], wrapper[1200];
    struct stat st;
    FILE *fp;

    sfmt(root, sizeof root, "%s/custom", tmp);
    sfmt(log, sizeof log, "%s/install.log", tmp);
    sfmt(wrapper, sizeof wrapper, "%s/my-install", tmp);
    CHECK((fp = fopen(wrapper, "w")) != NULL);
    if (!fp) return;
    fprintf(fp, "#!/bin/sh\necho \"$@\" >> '%s'\nexec install \"$@\"\n", log);
    CHECK(fclose(fp) == 0);
    CHECK(chmod(wrapper, 0755) == 0);

    sfmt(vars, sizeof vars,
             "PREFIX=/opt/abstat BINDIR=/opt/abstat/tools MANDIR=/opt/abstat/man "
             "INSTALL='%s' DESTDIR='%s'",
             wrapper, root);
    sfmt(test_context, sizeof test_context, "make install %s", vars);
    CHECK_INT(make("install", vars, out, sizeof out), 0);
    if (out[0] && test_failed) printf("%s\n", out);
    sfmt(path, sizeof path, "%s/opt/abstat/tools/abstat", root);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0755);
    sfmt(path, sizeof path, "%s/opt/abstat/man/man8/abstatd.8", root);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644);
    sfmt(path, sizeof path, "%s/opt/abstat/man/man1/abstat.1", root);
    CHECK(stat(path, &st) == 0);
    sfmt(path, sizeof path, "%s/opt/abstat/sbin/abstatd", root);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0755);
    sfmt(path, sizeof path, "%s/opt/abstat/lib/systemd/system/abstatd.service", root);
    {
        char *unit = slurp(path);
        CHECK(unit && strstr(unit, "\nExecStart=/opt/abstat/sbin/abstatd "));
        free(unit);
    }
    CHECK_INT(count_files(root, NULL), (int)NFILES);
    {
        char *calls = slurp(log);
        CHECK(calls && strstr(calls, "-m 755") && strstr(calls, "-m 644"));
        free(calls);
    }
    CHECK_INT(make("uninstall", vars, out, sizeof out), 0);
    CHECK_INT(count_files(root, NULL), 0);
    if (walk_files) test_fail(__FILE__, __LINE__, "left after uninstall: %s", walk_list);
    test_context[0] = '\0';
}

int main(void)
{
    char tmp[] = "/tmp/abstat-install-XXXXXX", cmd[200], out[256];

    if (find_build()) {
        test_fail(__FILE__, __LINE__, "ABSTAT_BIN (%s) is not a build's bin directory",
                  getenv("ABSTAT_BIN") ? getenv("ABSTAT_BIN") : "unset");
        return TEST_DONE("test_install");
    }
    if (!have("make")) {
        printf("skip: make is not installed\n");
        return TEST_DONE("test_install");
    }
    CHECK(mkdtemp(tmp) != NULL);
    test_default(tmp);
    test_variables(tmp);
    sfmt(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK_INT(run(cmd, out, sizeof out), 0);
    return TEST_DONE("test_install");
}
