/* test_render.c: the JSON mapping of canonical items, and the changed-paths list. */
#include "canon/canon.h"
#include "diff/render.h"

#include "testlib.h"

#include <stdlib.h>
#include <string.h>

/* Builds a canonical item from a tiny XML subset: <name a="v" ...>, </name>, <name/>, and raw text
 * (no entities, no '<' in text, no '"' in attribute values). Returns a malloc'd copy. */
static uint8_t *build(const char *xml, size_t *len)
{
    sne_canon_writer w;
    sne_canon_writer_init(&w, 1 << 22, 1 << 20);
    const char *p = xml;
    sne_err rc = SNE_OK;
    while (!rc && *p) {
        if (*p != '<') {
            const char *e = strchr(p, '<');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            rc = sne_canon_text(&w, (const uint8_t *)p, n);
            p += n;
            continue;
        }
        p++;
        if (*p == '/') {
            p = strchr(p, '>') + 1;
            rc = sne_canon_close(&w);
            continue;
        }
        const char *name = p;
        while (*p != ' ' && *p != '>' && *p != '/')
            p++;
        size_t name_len = (size_t)(p - name);
        sne_canon_attr attrs[8];
        size_t n = 0;
        while (*p == ' ') {
            p++;
            const char *an = p;
            const char *eq = strchr(p, '=');
            const char *v = eq + 2;
            const char *ve = strchr(v, '"');
            attrs[n++] = (sne_canon_attr){an, (size_t)(eq - an), v, (size_t)(ve - v)};
            p = ve + 1;
        }
        rc = sne_canon_open(&w, name, name_len, attrs, n);
        if (*p == '/') {
            p++;
            if (!rc)
                rc = sne_canon_close(&w);
        }
        p++; /* '>' */
    }
    if (rc || w.depth != 0) {
        fprintf(stderr, "build failed (%d) for %s\n", (int)rc, xml);
        exit(2);
    }
    uint8_t *copy = malloc(w.out.len + 1);
    memcpy(copy, w.out.data ? w.out.data : (uint8_t *)"", w.out.len);
    *len = w.out.len;
    sne_canon_writer_free(&w);
    return copy;
}

static char result[1 << 16];

/* The JSON of the item built from `xml` by `render`, or "ERR <code>". */
static const char *rendered(sne_err (*render)(const uint8_t *, size_t, sne_buf *), const char *xml)
{
    size_t n;
    uint8_t *c = build(xml, &n);
    sne_buf out;
    sne_buf_init(&out, 1 << 20);
    sne_err rc = render(c, n, &out);
    if (rc)
        snprintf(result, sizeof(result), "ERR %d", (int)rc);
    else
        snprintf(result, sizeof(result), "%s", out.data ? (const char *)out.data : "");
    sne_buf_free(&out);
    free(c);
    return result;
}

static const char *json(const char *xml)
{
    return rendered(sne_render_json, xml);
}

static const char *jsonb(const char *xml)
{
    return rendered(sne_render_jsonb, xml);
}

static const char *changed(const char *before, const char *after)
{
    size_t bn, an;
    uint8_t *b = build(before, &bn);
    uint8_t *a = build(after, &an);
    sne_buf out;
    sne_buf_init(&out, 1 << 20);
    sne_err rc = sne_render_changed_paths(b, bn, a, an, &out);
    if (rc)
        snprintf(result, sizeof(result), "ERR %d", (int)rc);
    else
        snprintf(result, sizeof(result), "%s", out.data ? (const char *)out.data : "");
    sne_buf_free(&out);
    free(b);
    free(a);
    return result;
}

static void test_text_only(void)
{
    CHECK_EQ_STR(json("<evenement><idEvenement>A1</idEvenement><date>2026</date></evenement>"),
                 "{\"idEvenement\":\"A1\",\"date\":\"2026\"}");
    CHECK_EQ_STR(json("<a>hello world</a>"), "\"hello world\"");
    /* Whitespace around text is not data. */
    CHECK_EQ_STR(json("<e>\n  <n>  x y  </n>\n</e>"), "{\"n\":\"x y\"}");
}

static void test_attributes(void)
{
    CHECK_EQ_STR(json("<evenement><idEvenement>A1</idEvenement><typeEvenement code=\"RECTIF\"/>"
                      "</evenement>"),
                 "{\"idEvenement\":\"A1\",\"typeEvenement\":{\"code\":\"RECTIF\"}}");
    /* Canonical (sorted) attribute order, whatever the document's. */
    CHECK_EQ_STR(json("<e><t z=\"1\" code=\"R\" b=\"2\"/></e>"),
                 "{\"t\":{\"b\":\"2\",\"code\":\"R\",\"z\":\"1\"}}");
    CHECK_EQ_STR(json("<e k=\"v\"/>"), "{\"k\":\"v\"}");
    /* An empty attribute value is data. */
    CHECK_EQ_STR(json("<e><t code=\"\"/></e>"), "{\"t\":{\"code\":\"\"}}");
    /* Attributes, then #text, then children. */
    CHECK_EQ_STR(json("<e><c>1</c><m devise=\"EUR\">12.50</m></e>"),
                 "{\"c\":\"1\",\"m\":{\"devise\":\"EUR\",\"#text\":\"12.50\"}}");
    CHECK_EQ_STR(json("<e k=\"v\">t<c>1</c></e>"), "{\"k\":\"v\",\"#text\":\"t\",\"c\":\"1\"}");
    /* Mixed content: the text segments are concatenated. */
    CHECK_EQ_STR(json("<e>ab<c>1</c>cd<d>2</d>ef</e>"),
                 "{\"#text\":\"abcdef\",\"c\":\"1\",\"d\":\"2\"}");
}

static void test_sequences(void)
{
    CHECK_EQ_STR(json("<l><listeTypeLogement><typeLogement code=\"T4\"/></listeTypeLogement></l>"),
                 "{\"listeTypeLogement\":[{\"code\":\"T4\"}]}");
    CHECK_EQ_STR(json("<l><listeTypeLogement><typeLogement code=\"T4\"/><typeLogement "
                      "code=\"T1\"/><typeLogement code=\"T2\"/></listeTypeLogement></l>"),
                 "{\"listeTypeLogement\":[{\"code\":\"T4\"},{\"code\":\"T1\"},{\"code\":\"T2\"}]}");
    /* Members that are plain text, and members of different names, in document order. */
    CHECK_EQ_STR(json("<l><listeCritere><critere>a</critere><autre>b</autre><critere>c</critere>"
                      "</listeCritere></l>"),
                 "{\"listeCritere\":[\"a\",\"b\",\"c\"]}");
    /* A sequence's own attributes and text are ignored. */
    CHECK_EQ_STR(json("<l><listeCritere x=\"1\">t<critere>a</critere></listeCritere></l>"),
                 "{\"listeCritere\":[\"a\"]}");
    CHECK_EQ_STR(json("<l><listeCritere x=\"1\"/></l>"), "{\"listeCritere\":[]}");
    /* A sequence as the root. */
    CHECK_EQ_STR(json("<listeRessource><ressource>1</ressource></listeRessource>"), "[\"1\"]");
}

static void test_repeated_siblings(void)
{
    CHECK_EQ_STR(json("<e><x>1</x><y>2</y><x>3</x><z a=\"b\"/><x>4</x></e>"),
                 "{\"x\":[\"1\",\"3\",\"4\"],\"y\":\"2\",\"z\":{\"a\":\"b\"}}");
    CHECK_EQ_STR(json("<e><x><v>1</v></x><x><v>2</v><v>3</v></x></e>"),
                 "{\"x\":[{\"v\":\"1\"},{\"v\":[\"2\",\"3\"]}]}");
    /* Many siblings (sorted by qsort rather than insertion), first appearance order kept. */
    char xml[4096], want[4096];
    size_t xp = 0, wp = 0;
    xp += (size_t)snprintf(xml + xp, sizeof(xml) - xp, "<e>");
    for (int i = 0; i < 40; i++)
        xp += (size_t)snprintf(xml + xp, sizeof(xml) - xp, "<n%d>%d</n%d>", 39 - i % 20, i,
                               39 - i % 20);
    snprintf(xml + xp, sizeof(xml) - xp, "</e>");
    wp += (size_t)snprintf(want + wp, sizeof(want) - wp, "{");
    for (int i = 0; i < 20; i++)
        wp += (size_t)snprintf(want + wp, sizeof(want) - wp, "%s\"n%d\":[\"%d\",\"%d\"]",
                               i ? "," : "", 39 - i, i, i + 20);
    snprintf(want + wp, sizeof(want) - wp, "}");
    CHECK_EQ_STR(json(xml), want);
}

/* Text through the writer directly, so it can hold bytes the mini-XML cannot. */
static const char *json_of_text(const char *text)
{
    sne_canon_writer w;
    sne_buf out;
    sne_canon_writer_init(&w, 1 << 16, 1 << 16);
    sne_buf_init(&out, 1 << 16);
    sne_canon_attr attr = {"a", 1, text, strlen(text)};
    CHECK(sne_canon_open(&w, "e", 1, NULL, 0) == SNE_OK);
    CHECK(sne_canon_open(&w, "t", 1, NULL, 0) == SNE_OK);
    CHECK(sne_canon_text(&w, (const uint8_t *)text, strlen(text)) == SNE_OK);
    CHECK(sne_canon_close(&w) == SNE_OK);
    CHECK(sne_canon_open(&w, "u", 1, &attr, 1) == SNE_OK);
    CHECK(sne_canon_close(&w) == SNE_OK);
    CHECK(sne_canon_close(&w) == SNE_OK);
    sne_err rc = sne_render_json(w.out.data, w.out.len, &out);
    snprintf(result, sizeof(result), "%s", rc ? "ERR" : (const char *)out.data);
    sne_buf_free(&out);
    sne_canon_writer_free(&w);
    return result;
}

static void test_escaping(void)
{
    CHECK_EQ_STR(json_of_text("say \"hi\""),
                 "{\"t\":\"say \\\"hi\\\"\",\"u\":{\"a\":\"say \\\"hi\\\"\"}}");
    CHECK_EQ_STR(json_of_text("a\\b"), "{\"t\":\"a\\\\b\",\"u\":{\"a\":\"a\\\\b\"}}");
    CHECK_EQ_STR(json_of_text("l1\nl2\tx\x1f\x05"),
                 "{\"t\":\"l1\\u000al2\\u0009x\\u001f\\u0005\",\"u\":{\"a\":\"l1\\u000al2\\u0009x"
                 "\\u001f\\u0005\"}}");
    CHECK_EQ_STR(json_of_text("<&> /"), "{\"t\":\"<&> /\",\"u\":{\"a\":\"<&> /\"}}");
    CHECK_EQ_STR(
        json_of_text("No\xc3\xabl \xc3\x89lo\xc3\xafse \xe2\x82\xac \xf0\x9f\x8f\xa0"),
        "{\"t\":\"No\xc3\xabl \xc3\x89lo\xc3\xafse \xe2\x82\xac \xf0\x9f\x8f\xa0\","
        "\"u\":{\"a\":\"No\xc3\xabl \xc3\x89lo\xc3\xafse \xe2\x82\xac \xf0\x9f\x8f\xa0\"}}");
    /* Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong form. */
    CHECK_EQ_STR(json_of_text("a\x80z\xc3(\xc0\xaf"),
                 "{\"t\":\"a\xef\xbf\xbdz\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\",\"u\":{\"a\":"
                 "\"a\xef\xbf\xbdz\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\"}}");
    /* Names are escaped too (the writer accepts any byte above 0x04 in a name). */
    CHECK_EQ_STR(json("<e><a\"b>1</a\"b></e>"), "{\"a\\\"b\":\"1\"}");
}

static const char *CERFA =
    "<cerfa><numGuichet>G2416</numGuichet><dateCreationDemande>2026-08-05</dateCreationDemande>"
    "<personnePhysique><demandeur><civilite code=\"2\"/><nom>THOMAS</nom><prenom>No\xc3\xabl"
    "</prenom><adressePostale><numero>48</numero><voie>avenue Jean-Jaur\xc3\xa8s</voie>"
    "<commune code=\"75078\"/></adressePostale><listeRessourceRecue><detailRessource>"
    "<ressource code=\"CHO\"/><montant>2093.77</montant></detailRessource></listeRessourceRecue>"
    "</demandeur><listePersonneACharge><personneACharge><nom>THOMAS</nom><prenom>Lucie</prenom>"
    "<sexe code=\"M\"/></personneACharge><personneACharge><nom>THOMAS</nom>"
    "<prenom>\xc3\x89lo\xc3\xafse</prenom><sexe code=\"F\"/></personneACharge>"
    "</listePersonneACharge></personnePhysique><listeMotifDemande><motifDemande code=\"20\"/>"
    "</listeMotifDemande><logementRecherche><demandeElargie>true</demandeElargie>"
    "<listeTypeLogement><typeLogement code=\"T4\"/><typeLogement code=\"T1\"/></listeTypeLogement>"
    "<listeLocalisationSouhaitee><localisationSouhaitee><commune code=\"75016\"/>"
    "</localisationSouhaitee><localisationSouhaitee><commune code=\"75048\"/>"
    "</localisationSouhaitee><localisationSouhaitee><commune code=\"75072\"/>"
    "</localisationSouhaitee></listeLocalisationSouhaitee></logementRecherche></cerfa>";

static void test_cerfa(void)
{
    CHECK_EQ_STR(
        json(CERFA),
        "{\"numGuichet\":\"G2416\",\"dateCreationDemande\":\"2026-08-05\",\"personnePhysique\":{"
        "\"demandeur\":{\"civilite\":{\"code\":\"2\"},\"nom\":\"THOMAS\",\"prenom\":"
        "\"No\xc3\xabl\","
        "\"adressePostale\":{\"numero\":\"48\",\"voie\":\"avenue Jean-Jaur\xc3\xa8s\",\"commune\":{"
        "\"code\":\"75078\"}},\"listeRessourceRecue\":[{\"ressource\":{\"code\":\"CHO\"},"
        "\"montant\":\"2093.77\"}]},\"listePersonneACharge\":[{\"nom\":\"THOMAS\",\"prenom\":"
        "\"Lucie\",\"sexe\":{\"code\":\"M\"}},{\"nom\":\"THOMAS\",\"prenom\":"
        "\"\xc3\x89lo\xc3\xafse\","
        "\"sexe\":{\"code\":\"F\"}}]},\"listeMotifDemande\":[{\"code\":\"20\"}],"
        "\"logementRecherche\":{\"demandeElargie\":\"true\",\"listeTypeLogement\":[{\"code\":"
        "\"T4\"},"
        "{\"code\":\"T1\"}],\"listeLocalisationSouhaitee\":[{\"commune\":{\"code\":\"75016\"}},{"
        "\"commune\":{\"code\":\"75048\"}},{\"commune\":{\"code\":\"75072\"}}]}}");
}

/* CERFA with `from` replaced by `to` (first occurrence). */
static char *cerfa_with(const char *from, const char *to)
{
    static char buf[2][8192];
    static int which;
    char *b = buf[which ^= 1];
    const char *at = strstr(CERFA, from);
    if (!at) {
        fprintf(stderr, "no %s in CERFA\n", from);
        exit(2);
    }
    snprintf(b, sizeof(buf[0]), "%.*s%s%s", (int)(at - CERFA), CERFA, to, at + strlen(from));
    return b;
}

static void test_changed_paths(void)
{
    CHECK_EQ_STR(changed(CERFA, CERFA), "[]");
    /* Equal data, different bytes in the source: still equal. */
    CHECK_EQ_STR(changed("<e><t b=\"1\" a=\"2\"/></e>", "<e><t a=\"2\" b=\"1\"/></e>"), "[]");
    CHECK_EQ_STR(changed(CERFA, cerfa_with("<nom>THOMAS</nom><prenom>No", "<nom>DUPONT</nom>"
                                                                          "<prenom>No")),
                 "[\"/personnePhysique/demandeur/nom\"]");
    /* An optional element added, then removed. */
    const char *with_mel = cerfa_with("<adressePostale>", "<mel>a@b.fr</mel><adressePostale>");
    CHECK_EQ_STR(changed(CERFA, with_mel), "[\"/personnePhysique/demandeur/mel\"]");
    CHECK_EQ_STR(changed(with_mel, CERFA), "[\"/personnePhysique/demandeur/mel\"]");
    /* A whole subtree removed: each of its leaves. */
    CHECK_EQ_STR(
        changed(CERFA, cerfa_with("<civilite code=\"2\"/>", "<civilite code=\"2\"/>"
                                                            "<x><y>1</y><z a=\"2\"/></x>")),
        "[\"/personnePhysique/demandeur/x/y\",\"/personnePhysique/demandeur/x/z/a\"]");
    /* A list member added. */
    CHECK_EQ_STR(
        changed(CERFA, cerfa_with("</listeLocalisationSouhaitee>",
                                  "<localisationSouhaitee><commune code=\"75001\"/>"
                                  "</localisationSouhaitee></listeLocalisationSouhaitee>")),
        "[\"/logementRecherche/listeLocalisationSouhaitee/3/commune/code\"]");
    /* A member inserted at the head shifts the others: every index whose value changed. */
    CHECK_EQ_STR(
        changed(CERFA, cerfa_with("<typeLogement code=\"T4\"/>",
                                  "<typeLogement code=\"T5\"/><typeLogement code=\"T4\"/>")),
        "[\"/logementRecherche/listeTypeLogement/0/code\","
        "\"/logementRecherche/listeTypeLogement/1/code\","
        "\"/logementRecherche/listeTypeLogement/2/code\"]");
    /* Attribute change, attribute added. */
    CHECK_EQ_STR(changed("<evenement><idEvenement>A1</idEvenement><typeEvenement code=\"RECTIF\"/>"
                         "</evenement>",
                         "<evenement><idEvenement>A1</idEvenement><typeEvenement code=\"RADIE\"/>"
                         "</evenement>"),
                 "[\"/typeEvenement/code\"]");
    CHECK_EQ_STR(changed("<e><t code=\"R\"/></e>", "<e><t code=\"R\" motif=\"3\"/></e>"),
                 "[\"/t/motif\"]");
    /* #text, at the root and below. */
    CHECK_EQ_STR(changed("<e k=\"1\">t</e>", "<e k=\"1\">u</e>"), "[\"/#text\"]");
    CHECK_EQ_STR(changed("<e><m d=\"EUR\">1</m></e>", "<e><m d=\"EUR\">2</m></e>"),
                 "[\"/m/#text\"]");
    CHECK_EQ_STR(changed("<e>ab<c>1</c>cd</e>", "<e>abc<c>1</c>d</e>"), "[]");
    CHECK_EQ_STR(changed("<e>ab<c>1</c>cd</e>", "<e>ab<c>1</c>ce</e>"), "[\"/#text\"]");
    /* A root that is plain text: the empty pointer. */
    CHECK_EQ_STR(changed("<a>x</a>", "<a>y</a>"), "[\"\"]");
    /* Changes of shape report the leaves of both shapes. */
    CHECK_EQ_STR(changed("<e><x>1</x></e>", "<e><x>1</x><x>2</x></e>"),
                 "[\"/x\",\"/x/0\",\"/x/1\"]");
    CHECK_EQ_STR(changed("<e><t>v</t></e>", "<e><t code=\"v\"/></e>"), "[\"/t\",\"/t/code\"]");
    CHECK_EQ_STR(changed("<e><t>v</t></e>", "<e><t k=\"1\">v</t></e>"),
                 "[\"/t\",\"/t/#text\",\"/t/k\"]");
    /* Sorted bytewise: "/10" before "/2". */
    char before[2048], after[2048];
    size_t bp = 0, ap = 0;
    bp += (size_t)snprintf(before, sizeof(before), "<e><listeCritere>");
    ap += (size_t)snprintf(after, sizeof(after), "<e><listeCritere>");
    for (int i = 0; i < 12; i++) {
        bp += (size_t)snprintf(before + bp, sizeof(before) - bp, "<critere>%d</critere>", i);
        ap += (size_t)snprintf(after + ap, sizeof(after) - ap, "<critere>%d</critere>",
                               i == 2 || i == 10 ? 99 : i);
    }
    snprintf(before + bp, sizeof(before) - bp, "</listeCritere><b>1</b></e>");
    snprintf(after + ap, sizeof(after) - ap, "</listeCritere><b>2</b></e>");
    CHECK_EQ_STR(changed(before, after), "[\"/b\",\"/listeCritere/10\",\"/listeCritere/2\"]");
}

static void test_pointer_escaping(void)
{
    /* Names with '/' and '~' cannot come from XML, but the writer takes them. */
    sne_canon_writer w1, w2;
    sne_buf out;
    sne_buf_init(&out, 1 << 16);
    sne_canon_writer_init(&w1, 1 << 16, 1 << 16);
    sne_canon_writer_init(&w2, 1 << 16, 1 << 16);
    sne_canon_writer *ws[2] = {&w1, &w2};
    for (int i = 0; i < 2; i++) {
        sne_canon_attr at = {"x~/y", 4, i ? "2" : "1", 1};
        CHECK(sne_canon_open(ws[i], "e", 1, NULL, 0) == SNE_OK);
        CHECK(sne_canon_open(ws[i], "a/b", 3, NULL, 0) == SNE_OK);
        CHECK(sne_canon_open(ws[i], "c~d", 3, &at, 1) == SNE_OK);
        CHECK(sne_canon_close(ws[i]) == SNE_OK);
        CHECK(sne_canon_open(ws[i], "~1", 2, NULL, 0) == SNE_OK);
        CHECK(sne_canon_text(ws[i], (const uint8_t *)(i ? "q" : "p"), 1) == SNE_OK);
        CHECK(sne_canon_close(ws[i]) == SNE_OK);
        CHECK(sne_canon_close(ws[i]) == SNE_OK);
        CHECK(sne_canon_close(ws[i]) == SNE_OK);
    }
    CHECK(sne_render_json(w1.out.data, w1.out.len, &out) == SNE_OK);
    CHECK_EQ_STR((const char *)out.data, "{\"a/b\":{\"c~d\":{\"x~/y\":\"1\"},\"~1\":\"p\"}}");
    sne_buf_reset(&out);
    CHECK(sne_render_changed_paths(w1.out.data, w1.out.len, w2.out.data, w2.out.len, &out) ==
          SNE_OK);
    CHECK_EQ_STR((const char *)out.data, "[\"/a~1b/c~0d/x~0~1y\",\"/a~1b/~01\"]");
    sne_buf_free(&out);
    sne_canon_writer_free(&w1);
    sne_canon_writer_free(&w2);
}

/* Runs both functions on bad input `c` and checks they fail with `want` and leave `out` as is. */
static void check_fails(const uint8_t *c, size_t n, sne_err want)
{
    size_t gn;
    uint8_t *good = build("<e><a>1</a></e>", &gn);
    sne_buf out;
    sne_buf_init(&out, 1 << 16);
    sne_buf_append_str(&out, "prefix");
    CHECK_EQ_INT(sne_render_json(c, n, &out), want);
    CHECK_EQ_INT(out.len, 6);
    CHECK_EQ_STR((const char *)out.data, "prefix");
    CHECK_EQ_INT(sne_render_changed_paths(c, n, good, gn, &out), want);
    CHECK_EQ_INT(sne_render_changed_paths(good, gn, c, n, &out), want);
    CHECK_EQ_INT(out.len, 6);
    CHECK_EQ_STR((const char *)out.data, "prefix");
    sne_buf_free(&out);
    free(good);
}

/* The jsonb order: each object's members, whatever their kind, shorter names first, then
 * bytewise; sequences and repeated names keep document order, and so do members of one name. */
static void test_jsonb_order(void)
{
    CHECK_EQ_STR(jsonb("<e k=\"v\">t<long>1</long><ab>2</ab><b>3</b><aa>4</aa></e>"),
                 "{\"b\":\"3\",\"k\":\"v\",\"aa\":\"4\",\"ab\":\"2\",\"long\":\"1\","
                 "\"#text\":\"t\"}");
    CHECK_EQ_STR(jsonb("<e><zz>1</zz><c>2</c><zz>3</zz></e>"),
                 "{\"c\":\"2\",\"zz\":[\"1\",\"3\"]}");
    CHECK_EQ_STR(jsonb("<l><listeTypeLogement><typeLogement code=\"T4\" a=\"x\"/><typeLogement "
                       "code=\"T1\"/></listeTypeLogement></l>"),
                 "{\"listeTypeLogement\":[{\"a\":\"x\",\"code\":\"T4\"},{\"code\":\"T1\"}]}");
    /* An attribute and a child of one name: both written, the attribute first, as in the
     * mapping's order (jsonb keeps the last). */
    CHECK_EQ_STR(jsonb("<e><x>child</x><w x=\"1\"><x>2</x></w></e>"),
                 "{\"w\":{\"x\":\"1\",\"x\":\"2\"},\"x\":\"child\"}");
    CHECK_EQ_STR(jsonb("<a>text only</a>"), "\"text only\"");
    /* More members than the insertion sort takes: the same order, ties included. */
    CHECK_EQ_STR(
        jsonb("<e "
              "d=\"A\"><bbbb>0</bbbb><aaa>1</aaa><cc>2</cc><d>3</d><e>4</e><ff>5</ff><gg>6</"
              "gg><hhh>7</hhh><iiii>8</iiii><j>9</j><kk>10</kk><lll>11</lll><m>12</m><nn>13</"
              "nn><o>14</o><pp>15</pp><q>16</q><r>17</r></e>"),
        "{\"d\":\"A\",\"d\":\"3\",\"e\":\"4\",\"j\":\"9\",\"m\":\"12\",\"o\":\"14\",\"q\":\"16\","
        "\"r\":\"17\",\"cc\":\"2\",\"ff\":\"5\",\"gg\":\"6\",\"kk\":\"10\",\"nn\":\"13\",\"pp\":"
        "\"15\",\"aaa\":\"1\",\"hhh\":\"7\",\"lll\":\"11\",\"bbbb\":\"0\",\"iiii\":\"8\"}");
    /* The same members as the mapping's JSON, in another order. */
    CHECK_EQ_STR(json("<e><b>1</b><a>2</a></e>"), "{\"b\":\"1\",\"a\":\"2\"}");
    CHECK_EQ_STR(jsonb("<e><b>1</b><a>2</a></e>"), "{\"a\":\"2\",\"b\":\"1\"}");
}

static void test_corrupt(void)
{
    size_t n;
    uint8_t *c = build(CERFA, &n);
    check_fails(c, n - 1, SNE_ERR_CORRUPT); /* truncated: root not closed */
    check_fails(c, n / 2, SNE_ERR_CORRUPT); /* truncated mid-way */
    check_fails(c, 0, SNE_ERR_CORRUPT);     /* empty */
    uint8_t *more = malloc(n + 1);
    memcpy(more, c, n);
    more[n] = SNE_CANON_CLOSE; /* unbalanced: one CLOSE too many */
    check_fails(more, n + 1, SNE_ERR_CORRUPT);
    more[n] = SNE_CANON_OPEN; /* a second root */
    check_fails(more, n + 1, SNE_ERR_CORRUPT);
    free(more);
    free(c);
    static const uint8_t garbage[] = "\x01"
                                     "e\0"
                                     "\x07\x08garbage\0"
                                     "\x04";
    check_fails(garbage, sizeof(garbage) - 1, SNE_ERR_CORRUPT);
    static const uint8_t not_open[] = "\x03text\0";
    check_fails(not_open, sizeof(not_open) - 1, SNE_ERR_CORRUPT);
    static const uint8_t no_nul[] = "\x01"
                                    "e";
    check_fails(no_nul, sizeof(no_nul) - 1, SNE_ERR_CORRUPT);
    static const uint8_t empty_name[] = "\x01\0\x04";
    check_fails(empty_name, sizeof(empty_name) - 1, SNE_ERR_CORRUPT);
    /* Accepted by the token reader, but not the canonical grammar. */
    static const uint8_t attr_after_text[] = "\x01"
                                             "e\0"
                                             "\x03t\0"
                                             "\x02"
                                             "a\0v\0"
                                             "\x04";
    check_fails(attr_after_text, sizeof(attr_after_text) - 1, SNE_ERR_CORRUPT);
    static const uint8_t unsorted[] = "\x01"
                                      "e\0"
                                      "\x02"
                                      "b\0v\0"
                                      "\x02"
                                      "a\0v\0"
                                      "\x04";
    check_fails(unsorted, sizeof(unsorted) - 1, SNE_ERR_CORRUPT);
    static const uint8_t duplicate[] = "\x01"
                                       "e\0"
                                       "\x02"
                                       "a\0v\0"
                                       "\x02"
                                       "a\0w\0"
                                       "\x04";
    check_fails(duplicate, sizeof(duplicate) - 1, SNE_ERR_CORRUPT);
    /* And a valid hand-made one, for contrast. */
    static const uint8_t fine[] = "\x01"
                                  "e\0"
                                  "\x02"
                                  "a\0v\0"
                                  "\x02"
                                  "b\0w\0"
                                  "\x04";
    sne_buf out;
    sne_buf_init(&out, 64);
    CHECK_EQ_INT(sne_render_json(fine, sizeof(fine) - 1, &out), SNE_OK);
    CHECK_EQ_STR((const char *)out.data, "{\"a\":\"v\",\"b\":\"w\"}");
    sne_buf_free(&out);
}

static void test_limits(void)
{
    size_t n, n2;
    uint8_t *c = build(CERFA, &n);
    uint8_t *c2 = build(cerfa_with("<nom>THOMAS</nom><prenom>No", "<nom>X</nom><prenom>No"), &n2);
    sne_buf out;
    sne_buf_init(&out, 100);
    sne_buf_append_str(&out, "prefix");
    CHECK_EQ_INT(sne_render_json(c, n, &out), SNE_ERR_LIMIT);
    CHECK_EQ_INT(out.len, 6);
    sne_buf_free(&out);
    sne_buf_init(&out, 20);
    sne_buf_append_str(&out, "prefix");
    CHECK_EQ_INT(sne_render_changed_paths(c, n, c2, n2, &out), SNE_ERR_LIMIT);
    CHECK_EQ_INT(out.len, 6);
    CHECK_EQ_STR((const char *)out.data, "prefix");
    sne_buf_free(&out);
    /* Exactly enough room. */
    sne_buf_init(&out, 6 + strlen("[\"/personnePhysique/demandeur/nom\"]"));
    sne_buf_append_str(&out, "prefix");
    CHECK_EQ_INT(sne_render_changed_paths(c, n, c2, n2, &out), SNE_OK);
    CHECK_EQ_STR((const char *)out.data, "prefix[\"/personnePhysique/demandeur/nom\"]");
    sne_buf_free(&out);
    free(c);
    free(c2);
}

static void test_big_and_deep(void)
{
    /* Over the stack block: a heap tree. 2000 list members; the last changed. */
    size_t cap = 200000;
    char *before = malloc(cap), *after = malloc(cap), *want = malloc(cap);
    size_t bp = 0, ap = 0, wp = 0;
    bp += (size_t)snprintf(before, cap, "<e><listeCritere>");
    ap += (size_t)snprintf(after, cap, "<e><listeCritere>");
    wp += (size_t)snprintf(want, cap, "{\"listeCritere\":[");
    for (int i = 0; i < 2000; i++) {
        bp += (size_t)snprintf(before + bp, cap - bp, "<critere code=\"%d\"/>", i);
        ap += (size_t)snprintf(after + ap, cap - ap, "<critere code=\"%d\"/>", i == 1999 ? -1 : i);
        wp += (size_t)snprintf(want + wp, cap - wp, "%s{\"code\":\"%d\"}", i ? "," : "", i);
    }
    snprintf(before + bp, cap - bp, "</listeCritere></e>");
    snprintf(after + ap, cap - ap, "</listeCritere></e>");
    snprintf(want + wp, cap - wp, "]}");
    CHECK_EQ_STR(json(before), want);
    CHECK_EQ_STR(changed(before, after), "[\"/listeCritere/1999/code\"]");
    /* The deepest nesting the form allows. */
    bp = ap = wp = 0;
    for (int i = 0; i < SNE_CANON_MAX_DEPTH; i++)
        bp += (size_t)snprintf(before + bp, cap - bp, "<d>");
    ap = bp;
    memcpy(after, before, bp);
    bp += (size_t)snprintf(before + bp, cap - bp, "x");
    ap += (size_t)snprintf(after + ap, cap - ap, "y");
    for (int i = 0; i < SNE_CANON_MAX_DEPTH; i++) {
        bp += (size_t)snprintf(before + bp, cap - bp, "</d>");
        ap += (size_t)snprintf(after + ap, cap - ap, "</d>");
    }
    for (int i = 1; i < SNE_CANON_MAX_DEPTH; i++)
        wp += (size_t)snprintf(want + wp, cap - wp, "{\"d\":");
    wp += (size_t)snprintf(want + wp, cap - wp, "\"x\"");
    for (int i = 1; i < SNE_CANON_MAX_DEPTH; i++)
        wp += (size_t)snprintf(want + wp, cap - wp, "}");
    CHECK_EQ_STR(json(before), want);
    wp = (size_t)snprintf(want, cap, "[\"");
    for (int i = 1; i < SNE_CANON_MAX_DEPTH; i++)
        wp += (size_t)snprintf(want + wp, cap - wp, "/d");
    snprintf(want + wp, cap - wp, "\"]");
    CHECK_EQ_STR(changed(before, after), want);
    free(before);
    free(after);
    free(want);
}

int main(void)
{
    test_text_only();
    test_attributes();
    test_sequences();
    test_repeated_siblings();
    test_escaping();
    test_cerfa();
    test_changed_paths();
    test_pointer_escaping();
    test_jsonb_order();
    test_corrupt();
    test_limits();
    test_big_and_deep();
    return TEST_SUMMARY();
}
