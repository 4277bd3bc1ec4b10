/*
 * Links in an HTML part: libxml2's forgiving HTML parser (no network, no
 * messages), a walk of the tree without recursion, and for each <a href>
 * the host it goes to and the host its text shows, if the text looks like
 * a URL or a domain ("www.bank.example", "https://bank.example/login").
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "rules.h"
#include "util.h"

#define HOST_MAX 256

int
rules_url_host(const char *url, char *out, size_t outlen)
{
	const char *p = url, *a, *end, *at, *h;
	size_t n;

	/* browsers drop leading blanks and control characters */
	while (*p != '\0' && (unsigned char)*p <= ' ')
		p++;
	if (strncasecmp(p, "http:", 5) == 0)
		p += 5;
	else if (strncasecmp(p, "https:", 6) == 0)
		p += 6;
	else if (!((p[0] == '/' || p[0] == '\\') &&
	    (p[1] == '/' || p[1] == '\\')))
		return -1;	/* relative, mailto:, javascript: … */
	while (*p == '/' || *p == '\\')
		p++;
	a = p;
	end = a + strcspn(a, "/\\?#");
	for (const char *q = a; q < end; q++)
		if ((unsigned char)*q <= ' ') {
			end = q;
			break;
		}
	/* user info: "http://bank.example@evil.example/" goes to evil */
	h = a;
	for (at = a; at < end; at++)
		if (*at == '@')
			h = at + 1;
	if (*h == '[') {		/* IPv6 literal */
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL)
			return -1;
		n = (size_t)(rb + 1 - h);
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));

		n = (size_t)((colon != NULL ? colon : end) - h);
	}
	while (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 0 || n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)h[i]);
	out[n] = '\0';
	return 0;
}

/* Top-level domains a bare "name.tld" link text is believed with (besides
 * any two-letter country code); "invoice.pdf" is not a domain. */
static const char *const tlds[] = {
	"com", "net", "org", "info", "biz", "gov", "edu", "mil", "int",
	"app", "online", "xyz", "top", "shop", "site", "store", "club",
};

/* The host link text shows, or -1 when it does not look like one. */
static int
text_host(const char *text, char *out, size_t outlen)
{
	const char *s = text, *tld;
	size_t n, hl;
	int ok = 0;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n >= HOST_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)s[i]))
			return -1;	/* words, not an address */
	if (strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0) {
		char tmp[HOST_MAX];

		memcpy(tmp, s, n);
		tmp[n] = '\0';
		return rules_url_host(tmp, out, outlen);
	}
	hl = strcspn(s, "/?#");
	if (hl > n)
		hl = n;
	while (hl > 0 && s[hl - 1] == '.')
		hl--;
	if (hl == 0 || hl >= outlen)
		return -1;
	for (size_t i = 0; i < hl; i++) {
		int c = tolower((unsigned char)s[i]);

		if (!isalnum(c) && c != '-' && c != '.')
			return -1;
		if (c == '.' && (i == 0 || s[i - 1] == '.'))
			return -1;
		out[i] = (char)c;
	}
	out[hl] = '\0';
	if ((tld = strrchr(out, '.')) == NULL)
		return -1;
	tld++;
	for (const char *c = tld; *c; c++)
		if (!isalpha((unsigned char)*c))
			return -1;
	if (strncmp(out, "www.", 4) == 0 || strlen(tld) == 2)
		ok = 1;
	for (size_t i = 0; i < ARRAY_LEN(tlds) && !ok; i++)
		if (strcmp(tld, tlds[i]) == 0)
			ok = 1;
	return ok ? 0 : -1;
}

/* 0: not a link to a host; 1: fn called; 2: fn said stop. */
static int
one_link(xmlNodePtr a, rules_link_fn fn, void *arg)
{
	xmlChar *href = xmlGetProp(a, BAD_CAST "href");
	xmlChar *text;
	char hh[HOST_MAX], th[HOST_MAX];
	int have_href, have_text = 0;

	if (href == NULL)
		return 0;
	have_href = rules_url_host((const char *)href, hh, sizeof(hh)) == 0;
	xmlFree(href);
	if (!have_href)
		return 0;
	if ((text = xmlNodeGetContent(a)) != NULL) {
		have_text = text_host((const char *)text, th, sizeof(th)) == 0;
		xmlFree(text);
	}
	return fn(hh, have_text ? th : NULL, arg) ? 2 : 1;
}

void
rules_html_links(const unsigned char *html, size_t len, size_t max_links,
    rules_link_fn fn, void *arg)
{
	htmlDocPtr doc;
	xmlNodePtr root, n;
	size_t links = 0;

	if (len == 0)
		return;
	if (len > INT_MAX)
		len = INT_MAX;
	doc = htmlReadMemory((const char *)html, (int)len, NULL, NULL,
	    HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	    HTML_PARSE_RECOVER);
	if (doc == NULL)
		return;
	root = xmlDocGetRootElement(doc);
	for (n = root; n != NULL;) {
		if (n->type == XML_ELEMENT_NODE && n->name != NULL &&
		    xmlStrcasecmp(n->name, BAD_CAST "a") == 0) {
			int rc = one_link(n, fn, arg);

			if (rc == 2 || (rc == 1 && ++links >= max_links))
				break;
		}
		if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
			n = n->children;
			continue;
		}
		while (n != root && n->next == NULL)
			n = n->parent;
		n = n == root ? NULL : n->next;
	}
	xmlFreeDoc(doc);
}
