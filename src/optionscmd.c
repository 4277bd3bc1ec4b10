/*
 * `scanmilter options`: every scope and option with its type, default and
 * help, read from the same tables the parser uses.  The man page's option
 * list and the example config are checked against this output.
 */
#include "config.h"

#include <stdio.h>

#include "conf.h"
#include "options.h"
#include "registry.h"

int	optionscmd_main(void);

static void
print_table(const char *scope, const struct sm_option *o)
{
	for (; o->name != NULL; o++)
		printf("%s\t%s\t%s\t%s\t%s\n", scope, o->name,
		    opt_type_name(o), o->def ? o->def : "-", o->help);
}

int
optionscmd_main(void)
{
	const struct sm_engine_ops *const *e;

	printf("# scope\toption\ttype\tdefault\thelp\n");
	for (const struct conf_scope_doc *s = conf_scopes(); s->keyword; s++)
		print_table(s->keyword, s->options);
	for (e = registry_all(); *e != NULL; e++)
		print_table((*e)->name, (*e)->options);
	return 0;
}
