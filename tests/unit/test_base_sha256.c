/* SHA-256 against the FIPS 180-4 example vectors, streaming included. */
#include "base/base.h"
#include "test.h"

static void test_vectors(void)
{
    char hex[65];
    aios_sha256_hex("", 0, hex);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    aios_sha256_hex("abc", 3, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    aios_sha256_hex(two, strlen(two), hex);
    CHECK_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_streaming(void)
{
    /* One million 'a' fed in uneven pieces. */
    static char a[1000000];
    memset(a, 'a', sizeof a);
    struct aios_sha256 s;
    aios_sha256_init(&s);
    size_t off = 0, step = 1;
    while (off < sizeof a) {
        size_t n = step < sizeof a - off ? step : sizeof a - off;
        aios_sha256_update(&s, a + off, n);
        off += n;
        step = step * 3 + 1;
        if (step > 70000)
            step = 7;
    }
    uint8_t d[32];
    char hex[65];
    aios_sha256_final(&s, d);
    aios_hex_encode(d, 32, hex);
    CHECK_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_fnv(void)
{
    CHECK(aios_hash_fnv1a("", 0) == 0xcbf29ce484222325ull);
    CHECK(aios_hash_fnv1a("a", 1) == 0xaf63dc4c8601ec8cull);
}

int main(void)
{
    TEST_RUN(test_vectors);
    TEST_RUN(test_streaming);
    TEST_RUN(test_fnv);
    TEST_EXIT();
}
