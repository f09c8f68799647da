/*
 * JSON guide figures: aios_json_guide_accept() calls per second the way the
 * engine makes them. A document valid for the schema is cut into pieces of
 * 1..6 bytes (about what tokens are); before each piece is fed, accept() is
 * asked about 16 candidate pieces (a mix of JSON punctuation, words and
 * numbers, most of them refused), then about the real piece. Three schemas:
 * json_object mode, a typical object schema, and a tool-call union whose
 * alternatives share their first bytes (several threads alive at once).
 *
 * usage: json_guide [ROUNDS]   (default 2000)
 */
#include "llm/llm.h"

#include <stdio.h>
#include <string.h>

static const char *const candidates[] = {
    "\"",     "{",   "}", ",",    ":",   " ",     "\n", "the",
    " value", "123", "-", "true", "\":", "\",\"", "]",  "[\"",
};

struct bcase {
    const char *label;
    const char *schema;
    const char *doc;
};

static const struct bcase cases[] = {
    {"json_object", NULL,
     "{\"status\": \"degraded\", \"hosts\": [\"db-01\", \"db-02\"], \"load\": [0.93, 1.5e2], "
     "\"since\": 1732870000, \"ack\": false, \"note\": \"disk \\\"/var\\\" at 97% \xe2\x9c\x93\"}"},
    {"object schema",
     "{\"type\":\"object\",\"properties\":{\"severity\":{\"enum\":[\"info\",\"warning\","
     "\"critical\"]},\"host\":{\"type\":\"string\",\"maxLength\":64},\"cpu\":{\"type\":"
     "\"number\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":8},"
     "\"root_cause\":{\"type\":[\"string\",\"null\"]},\"actions\":{\"type\":\"array\",\"items\":"
     "{\"type\":\"object\",\"properties\":{\"cmd\":{\"type\":\"string\"},\"risk\":{\"type\":"
     "\"integer\"}},\"required\":[\"cmd\",\"risk\"],\"additionalProperties\":false}}},"
     "\"required\":[\"severity\",\"host\",\"actions\"],\"additionalProperties\":false}",
     "{\"severity\": \"critical\", \"host\": \"db-01.dc2\", \"cpu\": 97.5, \"tags\": [\"mysql\", "
     "\"primary\"], \"root_cause\": null, \"actions\": [{\"cmd\": \"systemctl restart mysqld\", "
     "\"risk\": 2}, {\"cmd\": \"df -h /var\", \"risk\": 0}]}"},
    {"tool-call union",
     "{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"get_metrics\"},"
     "\"arguments\":{\"type\":\"object\",\"properties\":{\"host\":{\"type\":\"string\"},"
     "\"window\":{\"type\":\"integer\"}},\"required\":[\"host\"],\"additionalProperties\":false}},"
     "\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false},"
     "{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"get_logs\"},\"arguments\":"
     "{\"type\":\"object\",\"properties\":{\"host\":{\"type\":\"string\"},\"lines\":{\"type\":"
     "\"integer\"}},\"required\":[\"host\"],\"additionalProperties\":false}},"
     "\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false},"
     "{\"type\":\"object\",\"properties\":{\"arguments\":{\"type\":\"object\"},\"name\":"
     "{\"const\":\"restart\"}},\"required\":[\"name\",\"arguments\"],"
     "\"additionalProperties\":false}]}",
     "{\"arguments\": {\"host\": \"web-07\", \"lines\": 200}, \"name\": \"get_logs\"}"},
};

int main(int argc, char **argv)
{
    int64_t rounds = 2000;
    if (argc > 1 && (aios_parse_i64(argv[1], &rounds) != AIOS_OK || rounds < 1)) {
        fprintf(stderr, "usage: json_guide [ROUNDS]\n");
        return 2;
    }
    const size_t ncand = sizeof candidates / sizeof *candidates;
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const struct bcase *bc = &cases[ci];
        json_t *schema = bc->schema ? json_loads(bc->schema, 0, NULL) : NULL;
        aios_json_guide *g;
        struct aios_err err;
        double t0 = aios_time_s();
        if (aios_json_guide_create(schema, &g, &err)) {
            fprintf(stderr, "%s: %s\n", bc->label, err.msg);
            return 1;
        }
        double t_create = aios_time_s() - t0;
        size_t n = strlen(bc->doc);
        uint64_t calls = 0, yes = 0;
        t0 = aios_time_s();
        for (int64_t r = 0; r < rounds; r++) {
            aios_json_guide_reset(g);
            size_t i = 0, k = 0;
            while (i < n) {
                size_t len = 1 + (k * 7 + i) % 6;
                if (len > n - i)
                    len = n - i;
                for (size_t c = 0; c < ncand; c++)
                    yes += aios_json_guide_accept(g, candidates[c], strlen(candidates[c]));
                yes += aios_json_guide_accept(g, bc->doc + i, len);
                calls += ncand + 1;
                if (aios_json_guide_feed(g, bc->doc + i, len)) {
                    fprintf(stderr, "%s: document refused at %zu\n", bc->label, i);
                    return 1;
                }
                i += len;
                k++;
            }
            if (!aios_json_guide_complete(g)) {
                fprintf(stderr, "%s: document not complete\n", bc->label);
                return 1;
            }
        }
        double dt = aios_time_s() - t0;
        printf("%-16s create %7.1f us   accept %6.2f M calls/s (%5.1f ns/call, %4.1f%% taken)   "
               "doc of %zu bytes guided in %6.1f us\n",
               bc->label, t_create * 1e6, (double)calls / dt / 1e6, dt / (double)calls * 1e9,
               100.0 * (double)yes / (double)calls, n, dt / (double)rounds * 1e6);
        aios_json_guide_free(g);
        json_decref(schema);
    }
    return 0;
}
