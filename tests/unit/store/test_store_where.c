/* test_store_where.c — a store's place as logs show it: every password of a connection string
 * masked as ***, in each form libpq takes, and scrubbed from messages that quote it. */
#include "test.h"

#include <string.h>

#include "store/store.h"

static void shown(const char *where, const char *want)
{
    char buf[300];
    snprintf(test_context, sizeof test_context, "%s", where);
    ab_store_where_safe(where, buf, sizeof buf);
    if (strcmp(buf, want)) test_fail(__FILE__, __LINE__, "shown as \"%s\", want \"%s\"", buf, want);
    else test_passed++;
    test_context[0] = '\0';
}

static void scrubbed(const char *where, const char *text, const char *want)
{
    char buf[300];
    snprintf(buf, sizeof buf, "%s", text);
    snprintf(test_context, sizeof test_context, "%s in %s", where, text);
    ab_store_scrub(where, buf, sizeof buf);
    if (strcmp(buf, want)) test_fail(__FILE__, __LINE__, "scrubbed to \"%s\", want \"%s\"", buf, want);
    else test_passed++;
    test_context[0] = '\0';
}

int main(void)
{
    char small[20];
    shown("postgresql://ab:s3cret@db:5432/abstat?sslmode=require",
          "postgresql://ab:***@db:5432/abstat?sslmode=require");
    shown("postgres://ab@db/abstat", "postgres://ab@db/abstat");
    shown("postgresql://ab:p%40ss@db/abstat", "postgresql://ab:***@db/abstat");
    shown("postgresql://ab:pa:ss@db,db2/abstat", "postgresql://ab:***@db,db2/abstat");
    shown("postgresql:///abstat?host=/tmp&password=s3cret&user=ab",
          "postgresql:///abstat?host=/tmp&password=***&user=ab");
    shown("postgresql://ab:one@/abstat?password=two", "postgresql://ab:***@/abstat?password=***");
    shown("mysql://ab:s3cret@db/x", "mysql://ab:***@db/x");
    shown("host=db password='a b\\'c' dbname=x", "host=db password='***' dbname=x");
    shown("host=db password = s3cret", "host=db password = ***");
    shown("/var/lib/abstat", "/var/lib/abstat");
    shown("postgresql://ab:@db/x", "postgresql://ab:@db/x");
    /* Cut short, never through the password. */
    ab_store_where_safe("postgresql://ab:s3cret@db/abstat", small, sizeof small);
    CHECK(strlen(small) == sizeof small - 1 && !strstr(small, "s3"));
    ab_store_where_safe(NULL, small, sizeof small);
    CHECK(small[0] == '\0');

    scrubbed("postgresql://ab:s3cret@db/x", "invalid token \"s3cret\" in s3cret",
             "invalid token \"***\" in ***");
    scrubbed("postgresql://ab:p%40ss@db/x", "bad \"p%40ss\", or p@ss", "bad \"***\", or ***");
    scrubbed("host=db password='a b\\'c'", "quoted a b'c here", "quoted *** here");
    scrubbed("/var/lib/abstat", "nothing to hide", "nothing to hide");
    /* No room to grow: masked in place. */
    {
        char buf[6] = "ab:xy";
        ab_store_scrub("postgresql://u:xy@h/d", buf, sizeof buf);
        CHECK(!strcmp(buf, "ab:**"));
    }
    return TEST_DONE("test_store_where");
}
