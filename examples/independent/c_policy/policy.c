/* A Hyper-V Dynamic Memory balancer policy (the reference policy of specs/policy.md),
 * written in C from the specs only. Speaks the dynmem IUT protocol v1, kind "policy":
 * reads one JSON request per line on stdin, answers one line on stdout.
 * Kept up with the specs: a start waiting for reclaim claims its startup first (a restore
 * waiting for reclaim its image, lifecycle.md 4.7) and squeezes strictly lower weights
 * (P-RECLAIM); a stuck VM is left alone (P-STUCK); a Linux
 * guest ("guest_os": "linux") reports committed + ballooned + its balloon floor, so its
 * demand subtracts both and it is never asked for more than it has above its floor
 * (P-DEMAND, protocol.md 3.2).
 * Contains a tiny JSON reader (objects, arrays, numbers, strings, true/false/null). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- tiny JSON reader */
enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct jval {
    enum jtype type;
    long long num;          /* J_NUM (integers only; fractions are truncated), J_BOOL */
    char *str;              /* J_STR */
    int n;                  /* J_ARR / J_OBJ: number of children */
    char **keys;            /* J_OBJ */
    struct jval **items;    /* J_ARR / J_OBJ */
} jval;

static const char *jp;

static void skip_ws(void) { while (*jp == ' ' || *jp == '\t' || *jp == '\r' || *jp == '\n') jp++; }

static jval *jnew(enum jtype t) { jval *v = calloc(1, sizeof *v); v->type = t; return v; }

static char *parse_string_raw(void) {
    size_t cap = 16, len = 0;
    char *s = malloc(cap);
    jp++; /* opening quote */
    while (*jp && *jp != '"') {
        char c = *jp++;
        if (c == '\\') {
            char e = *jp++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': c = '?'; jp += 4; break; /* names are plain ASCII in practice */
            default: c = e;
            }
        }
        if (len + 2 > cap) s = realloc(s, cap *= 2);
        s[len++] = c;
    }
    if (*jp == '"') jp++;
    s[len] = 0;
    return s;
}

static jval *parse_value(void);

static void push(jval *v, char *key, jval *item) {
    v->items = realloc(v->items, (v->n + 1) * sizeof *v->items);
    if (v->type == J_OBJ) { v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys); v->keys[v->n] = key; }
    v->items[v->n++] = item;
}

static jval *parse_value(void) {
    skip_ws();
    if (*jp == '{') {
        jval *v = jnew(J_OBJ);
        jp++; skip_ws();
        while (*jp && *jp != '}') {
            skip_ws();
            char *k = parse_string_raw();
            skip_ws(); if (*jp == ':') jp++;
            push(v, k, parse_value());
            skip_ws(); if (*jp == ',') jp++;
            skip_ws();
        }
        if (*jp) jp++;
        return v;
    }
    if (*jp == '[') {
        jval *v = jnew(J_ARR);
        jp++; skip_ws();
        while (*jp && *jp != ']') {
            push(v, NULL, parse_value());
            skip_ws(); if (*jp == ',') jp++;
            skip_ws();
        }
        if (*jp) jp++;
        return v;
    }
    if (*jp == '"') { jval *v = jnew(J_STR); v->str = parse_string_raw(); return v; }
    if (!strncmp(jp, "true", 4)) { jp += 4; jval *v = jnew(J_BOOL); v->num = 1; return v; }
    if (!strncmp(jp, "false", 5)) { jp += 5; return jnew(J_BOOL); }
    if (!strncmp(jp, "null", 4)) { jp += 4; return jnew(J_NULL); }
    jval *v = jnew(J_NUM);
    char *end;
    v->num = strtoll(jp, &end, 10);
    jp = end;
    while (*jp && strchr("0123456789.eE+-", *jp)) jp++; /* skip any fraction/exponent */
    return v;
}

static void jfree(jval *v) {
    if (!v) return;
    for (int i = 0; i < v->n; i++) { jfree(v->items[i]); if (v->keys) free(v->keys[i]); }
    free(v->items); free(v->keys); free(v->str); free(v);
}

static jval *get(const jval *o, const char *key) {
    if (!o || o->type != J_OBJ) return NULL;
    for (int i = 0; i < o->n; i++) if (!strcmp(o->keys[i], key)) return o->items[i];
    return NULL;
}
static long long get_num(const jval *o, const char *key, long long dflt) {
    jval *v = get(o, key); return v && (v->type == J_NUM || v->type == J_BOOL) ? v->num : dflt;
}
static const char *get_str(const jval *o, const char *key, const char *dflt) {
    jval *v = get(o, key); return v && v->type == J_STR ? v->str : dflt;
}

/* ---------------------------------------------------------------- the policy */
#define BALLOON_CAP 2288
#define GRANT_CAP 2048
#define MAXVM 256

typedef struct {
    const char *name;
    int running, starting, stuck, dynamic, ready, has_report, cap_balloon, hot_add_ok, linux;
    long long startup, maximum, buffer, weight;
    long long saved; /* a waiting restore's image (saved_mib), else 0 */
    long long visible, ballooned, report;
    int txn; /* 0 none, 1 balloon, 2 unballoon, 3 hot_add */
    long long txn_mib, txn_done;
    int requested;
} vm_t;

typedef struct { const char *kind; const char *vm; long long mib; } req_t;

static long long floor2(long long x) { return x - x % 2; }
static long long min2(long long a, long long b) { return a < b ? a : b; }
static long long max2(long long a, long long b) { return a > b ? a : b; }
static long long assigned(const vm_t *v) { return v->visible - v->ballooned; }
static long long in_flight(const vm_t *v) { return v->txn == 2 || v->txn == 3 ? v->txn_mib : 0; }
static long long owned(const vm_t *v) { return assigned(v) + in_flight(v); }
/* what a waiting start needs free (P-RECLAIM): a waiting restore its image (never 0: at
 * least startup), a start its startup */
static long long needed(const vm_t *v) { return v->saved > 0 ? v->saved : v->startup; }
static long long outstanding(const vm_t *v) { return v->txn == 1 ? v->txn_mib - v->txn_done : 0; }

/* compute_balloon_floor of a Linux guest with t MiB of RAM (protocol.md 3.2) */
static long long linux_floor(long long t) {
    if (t < 128) return 8 + t / 2;
    if (t < 512) return 40 + t / 4;
    if (t < 2048) return 104 + t / 8;
    if (t < 8192) return 232 + t / 16;
    return 488 + t / 32;
}

/* P-DEMAND: the demand the last report says, read per the guest's convention */
static long long demand(const vm_t *v) {
    if (!v->linux) return v->report;
    return max2(0, v->report - v->ballooned - linux_floor(assigned(v)));
}

/* what the policy may ask a VM to balloon: down to startup, a Linux guest only what it has
 * above its balloon floor; in 2 MiB units */
static long long balloonable(const vm_t *v) {
    long long spare = assigned(v) - v->startup;
    if (v->linux) spare = min2(spare, max2(0, assigned(v) - demand(v) - linux_floor(assigned(v))));
    return floor2(spare);
}

static long long target(const vm_t *v) {
    long long num = demand(v) * (100 + v->buffer);
    long long t = num / 100 + (num % 100 ? 1 : 0);
    t += t % 2;
    return max2(v->startup, min2(v->maximum, t));
}

static int by_weight_desc(const void *a, const void *b) {
    const vm_t *x = *(vm_t *const *)a, *y = *(vm_t *const *)b;
    if (x->weight != y->weight) return x->weight > y->weight ? -1 : 1;
    return strcmp(x->name, y->name);
}
static int by_weight_asc(const void *a, const void *b) {
    const vm_t *x = *(vm_t *const *)a, *y = *(vm_t *const *)b;
    if (x->weight != y->weight) return x->weight < y->weight ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int compute_plan(long long free_mib, vm_t *vms, int nvm, req_t *plan) {
    vm_t *managed[MAXVM];
    int nm = 0, np = 0;
    for (int i = 0; i < nvm; i++)
        if (vms[i].running && vms[i].dynamic && vms[i].ready && vms[i].has_report && !vms[i].stuck)
            managed[nm++] = &vms[i];

    /* P-GIVE-BACK, in VM order */
    long long give_back = 0;
    for (int i = 0; i < nm; i++) {
        vm_t *v = managed[i];
        if (v->txn == 0 && v->cap_balloon) {
            long long excess = min2(floor2(assigned(v) - target(v)), balloonable(v));
            if (excess > 0) {
                long long mib = min2(excess, BALLOON_CAP);
                plan[np++] = (req_t){"balloon_request", v->name, mib};
                v->requested = 1;
                give_back += mib;
            }
        }
    }

    /* P-GRANT, in weight order */
    vm_t *order[MAXVM];
    memcpy(order, managed, nm * sizeof *order);
    qsort(order, nm, sizeof *order, by_weight_desc);
    vm_t *unmet[MAXVM];
    long long deficit[MAXVM];
    int nu = 0;
    long long f = free_mib;
    /* P-RECLAIM: waiting starts, in weight order, claim what they need before any grant */
    vm_t *waiting[MAXVM];
    int nw = 0;
    for (int i = 0; i < nvm; i++) if (vms[i].starting) waiting[nw++] = &vms[i];
    qsort(waiting, nw, sizeof *waiting, by_weight_desc);
    for (int i = 0; i < nw; i++) {
        long long need = needed(waiting[i]);
        long long claim = min2(need, f);
        f -= claim;
        if (need > claim) { unmet[nu] = waiting[i]; deficit[nu++] = need - claim; }
    }
    for (int i = 0; i < nm; i++) {
        vm_t *v = order[i];
        if (v->requested) continue;
        long long room = v->ballooned - (v->txn == 2 ? v->txn_mib : 0);
        if (v->hot_add_ok) room += max2(0, v->maximum - v->visible - (v->txn == 3 ? v->txn_mib : 0));
        long long shortfall = max2(0, min2(target(v) - owned(v), room));
        long long claim = floor2(min2(shortfall, f));
        f -= claim;
        if (v->txn == 0 && claim > 0) {
            if (v->ballooned > 0) {
                plan[np++] = (req_t){"unballoon_request", v->name, min2(min2(claim, v->ballooned), GRANT_CAP)};
                v->requested = 1;
            } else if (v->hot_add_ok) {
                plan[np++] = (req_t){"hot_add_request", v->name,
                                     min2(min2(claim, floor2(v->maximum - v->visible)), GRANT_CAP)};
                v->requested = 1;
            }
        }
        if (shortfall > claim) { unmet[nu] = v; deficit[nu++] = shortfall - claim; }
    }

    /* P-CONTENTION */
    long long incoming = give_back;
    for (int i = 0; i < nm; i++) incoming += outstanding(managed[i]);
    vm_t *donors[MAXVM];
    memcpy(donors, managed, nm * sizeof *donors);
    qsort(donors, nm, sizeof *donors, by_weight_asc);
    for (int u = 0; u < nu; u++) {
        long long d = deficit[u];
        long long use = min2(d, incoming);
        d -= use;
        incoming -= use;
        for (int i = 0; i < nm && d > 0; i++) {
            vm_t *x = donors[i];
            if (x->weight >= unmet[u]->weight || x->txn != 0 || !x->cap_balloon || x->requested) continue;
            long long give = floor2(min2(min2(d, balloonable(x)), BALLOON_CAP));
            if (give > 0) {
                plan[np++] = (req_t){"balloon_request", x->name, give};
                x->requested = 1;
                d -= give;
            }
        }
    }
    return np;
}

/* ---------------------------------------------------------------- the wire */
static void load_vm(const jval *o, vm_t *v) {
    memset(v, 0, sizeof *v);
    const jval *s = get(o, "settings");
    v->name = get_str(o, "name", "");
    v->running = !strcmp(get_str(o, "power", "off"), "running");
    v->starting = !strcmp(get_str(o, "power", "off"), "starting");
    v->stuck = (int)get_num(o, "stuck", 0);
    v->ready = !strcmp(get_str(o, "channel", "none"), "ready");
    v->has_report = (int)get_num(o, "has_report", 0);
    v->cap_balloon = (int)get_num(o, "cap_balloon", 0);
    v->hot_add_ok = get_num(o, "cap_hot_add", 0) && get_num(o, "hot_add_enabled", 1);
    v->dynamic = (int)get_num(s, "dynamic", 0);
    v->startup = get_num(s, "startup_mib", 512);
    v->maximum = get_num(s, "maximum_mib", 65536);
    v->buffer = get_num(s, "buffer_pct", 20);
    v->weight = get_num(s, "weight", 5000);
    v->linux = !strcmp(get_str(s, "guest_os", "windows"), "linux");
    v->visible = get_num(o, "visible_mib", 0);
    v->ballooned = get_num(o, "ballooned_mib", 0);
    v->report = get_num(o, "report_mib", 0);
    const char *t = get_str(o, "txn", "none");
    v->txn = !strcmp(t, "balloon") ? 1 : !strcmp(t, "unballoon") ? 2 : !strcmp(t, "hot_add") ? 3 : 0;
    v->txn_mib = get_num(o, "txn_mib", 0);
    v->txn_done = get_num(o, "txn_done_mib", 0);
    v->saved = get_num(o, "saved_mib", 0);
}

static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

int main(void) {
    static char line[1 << 20];
    static vm_t vms[MAXVM];
    static req_t plan[3 * MAXVM];
    while (fgets(line, sizeof line, stdin)) {
        jp = line;
        skip_ws();
        if (!*jp) continue;
        jval *msg = parse_value();
        const char *type = get_str(msg, "type", "");
        if (!strcmp(type, "hello")) {
            printf("{\"type\":\"hello\",\"protocol\":1,\"name\":\"c-policy 1.0\",\"capabilities\":{\"kinds\":[\"policy\"]}}\n");
        } else if (!strcmp(type, "reset")) {
            printf("{\"type\":\"ready\"}\n");
        } else if (!strcmp(type, "plan")) {
            const jval *view = get(msg, "view");
            const jval *arr = get(view, "vms");
            int nvm = arr ? arr->n : 0;
            if (nvm > MAXVM) nvm = MAXVM;
            for (int i = 0; i < nvm; i++) load_vm(arr->items[i], &vms[i]);
            int np = compute_plan(get_num(view, "free_mib", 0), vms, nvm, plan);
            printf("{\"type\":\"plan\",\"requests\":[");
            for (int i = 0; i < np; i++) {
                printf("%s{\"kind\":\"%s\",\"vm\":", i ? "," : "", plan[i].kind);
                print_json_string(plan[i].vm);
                printf(",\"mib\":%lld}", plan[i].mib);
            }
            printf("]}\n");
        } else if (!strcmp(type, "bye")) {
            jfree(msg);
            return 0;
        } else {
            printf("{\"type\":\"error\",\"message\":\"unknown request type\"}\n");
        }
        fflush(stdout);
        jfree(msg);
    }
    return 0;
}
