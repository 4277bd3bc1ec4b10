/*
 * scanmilter's configuration: the typed snapshot built from a parsed
 * scanmilter.conf, and the option tables that describe every scope.
 *
 * A snapshot is plain parsed data: built aside (conf_load) and checked;
 * what runs for it (pools, engines, caches) is a generation built from it
 * (generation.h).  Nothing in it changes after conf_load but the blocks
 * of plug-ins, which generation_new() binds once it has loaded them and
 * before anything else reads them; so scanning threads read it without
 * locks.
 */
#ifndef SM_CONF_H
#define SM_CONF_H

#include <stddef.h>
#include <sys/types.h>

#include <scanmilter/engine.h>

#include "cidr.h"

/* What to do with a verdict; same order as ACTION_CHOICES. */
enum sm_action { ACT_REJECT, ACT_PASS, ACT_TEMPFAIL, ACT_DISCARD,
    ACT_QUARANTINE, ACT_STRIP };
#define ACTION_CHOICES "reject|pass|tempfail|discard|quarantine|strip"
/* unscannable_action: "action" follows action, else an sm_action + 1 */
#define UNSCANNABLE_AS_ACTION 0
#define UNSCANNABLE_CHOICES \
	"action|reject|pass|tempfail|discard|quarantine|strip"

enum logopt { LOGOPT_AUTO, LOGOPT_STDERR, LOGOPT_SYSLOG };
enum { RELOAD_CONCURRENT, RELOAD_BLOCKING };
#define LOGOPT_CHOICES "auto|stderr|syslog"

/* The one failure policy: what an internal error answers. */
enum sm_on_error { ONERR_TEMPFAIL, ONERR_ACCEPT, ONERR_REJECT };
#define ONERR_CHOICES "tempfail|accept|reject"

/* How a message is held; set in milter { } and/or antivirus scopes. */
enum sm_oversize { OVERSIZE_REJECT, OVERSIZE_TEMPFAIL, OVERSIZE_ACCEPT };
#define OVERSIZE_CHOICES "reject|tempfail|accept"

struct sm_msgopts {
	long long large_message_threshold; /* past it: spill to a file */
	int	 use_wire_rep;		/* keep small messages in memory */
	long long header_padding;	/* added to the first allocation */
	char	*file_base;		/* temporary files go under it */
	long long max_message_size;	/* 0: no limit */
	int	 oversize_action;	/* enum sm_oversize */
};

/* threadpool "NAME" { }: built-in CPU and IO, or the config's own. */
struct sm_pool_conf {
	char	*name;
	int	 line;
	long long concurrency;		/* threads; 0: automatic */
	long long queue;		/* waiting jobs; 0: automatic */
	long long large_job_size;	/* bytes that make a job large */
	long long large_concurrency;	/* threads for large jobs; 0: auto */
	long long small_job_size;	/* bytes under which a job is small */
	long long small_threads;	/* extra threads for small jobs only */
	long long medium_job_size;	/* bytes under which medium threads
					 * may take a job */
	long long medium_threads;	/* extra threads for those jobs */
	long long max_wait;		/* ms before a job goes first anyway */
	int	 used;			/* an enabled engine runs here */
};

struct cf_node;

/*
 * A plug-in: engine "NAME" { module = PATH }, or NAME.so in the engines
 * directory.  Parsing checks the file (owned by root or us, writable by
 * no one else, every directory on the way trusted: safefs_check_file)
 * and records it; it never runs the module's code.  The generation loads
 * exactly the file checked (generation.h) and then binds its blocks
 * (conf_bind_module).
 */
struct sm_module {
	char	*name;			/* the engine's block keyword */
	char	*path;			/* as written, for messages */
	char	*real;			/* resolved: what is loaded */
	dev_t	 dev;			/* the file checked: one with */
	ino_t	 ino;			/* another identity, owner or */
	uid_t	 uid;			/* a writable mode is refused */
	char	*file;			/* where the config named it */
	int	 line;
};

struct sm_engine_inst {
	char	*name;			/* "clamav1" */
	int	 line;
	const struct sm_engine_ops *ops; /* NULL: a plug-in's block not */
	void	*conf;			/* bound yet; ops->conf_size bytes */
	const struct sm_module *module;	/* a plug-in's block, or NULL */
	const struct cf_node *node;	/* private: its block, and its */
	const struct cf_node *avnode;	/* scope, until bound */
	/* options common to every engine (engine_common_options) */
	int	 enabled;
	int	 action;		/* enum sm_action */
	int	 unscannable_action;	/* UNSCANNABLE_AS_ACTION or sm_action+1 */
	char	*pool_name;
	long long max_concurrency;	/* 0: the pool's size */
	struct sm_pool_conf *pool;	/* resolved pool_name */
	char	*context_variable;	/* per-engine status header, or NULL */
};

/* Engines with context_variable: each adds two headers (NAME, NAME_info);
 * more are refused at load. */
#define CONF_MAX_CONTEXT	8

/* Scanning instances: skip rules and statistics keep one bit each in a
 * 64-bit mask; more are refused at load. */
#define CONF_MAX_INSTANCES	64

/* Instances with add_headers: each adds two headers (and removes copies
 * of them that came with the message); more are refused at load. */
#define CONF_MAX_TAGGING	16

struct sm_av {
	char	*name;			/* "antivirus1" */
	int	 antispam;		/* an antispam scope: spam verdicts */
	int	 line;
	long long tempfailure;		/* SMTP code for scan problems */
	long long timeout;		/* ms for one message's scan */
	int	 on_error;		/* enum sm_on_error */
	char	*reject_text;
	char	*scanned_header;
	char	*status_header;
	int	 add_headers;
	int	 hide_host;
	int	 mime_decompose;
	int	 detect_bypass;
	int	 detect_bypass_limits;	/* a limit hit is a bypass too */
	long long cache_size;		/* per engine; 0: no cache */
	long long mime_max_depth;
	long long mime_max_parts;
	long long mime_max_decoded;
	int	 skip_authenticated;
	char	*skip_networks;
	char	*skip_variable;
	struct cidr_list skip_nets;	/* skip_networks, parsed */
	struct sm_engine_inst defaults;	/* engine options set on the scope */
	struct sm_msgopts msg;		/* as set here or in milter { } */
	struct sm_engine_inst **engines;
	size_t	 nengines;
	/* antispam scopes only (antispam_options): header names, "" for
	 * none, and whether status_header (the verdict) is added too */
	char	*spam_flag_header;	/* "X-Spam-Flag: YES" */
	char	*spam_status_header;	/* "Yes, score=7.0 required=5.0 …" */
	char	*spam_level_header;	/* "*******" */
	int	 spam_verdict_header;
};

struct sm_conf {
	char	*path;
	char	*basedir;		/* relative paths resolve here */
	char	*source;		/* the text it was built from */
	size_t	 source_len;
	/* milter { } */
	char	*listen;
	long long socket_mode;
	char	*socket_group;
	long long backlog;
	char	*user;
	char	*group;
	char	*pidfile;
	long long stop_timeout;		/* ms */
	int	 reload_mode;		/* RELOAD_CONCURRENT or _BLOCKING */
	int	 auto_reload;
	long long auto_reload_interval;	/* ms */
	long long attachment_memory;	/* bytes; 0: no encmemo */
	struct sm_msgopts msg;		/* as set in milter { } */
	struct sm_msgopts eff;		/* what a message gets: see conf.c */
	char	*hostname;
	int	 log_target;		/* enum logopt */
	int	 log_facility;		/* index into FACILITY_CHOICES */
	int	 log_level;		/* index into LEVEL_CHOICES */
	int	 log_clean;
	/* control { } and metrics { } */
	char	*control_listen;
	long long control_mode;
	char	*control_group;
	long long signature_max_age;	/* days before "out of date" */
	char	*metrics_listen;	/* NULL: no metrics listener */
	char	*control_admin_group;	/* NULL: root and our user only */
	long long control_max_conns;
	long long control_reload_interval;	/* ms */
	long long metrics_max_conns;
	char	*metrics_allow;		/* NULL: any client (loopback only) */
	struct cidr_list metrics_allow_nets;	/* metrics_allow, parsed */
	/* antivirus "NAME" { } */
	struct sm_av **avs;
	size_t	 navs;
	/* threadpool "NAME" { }, CPU and IO first */
	struct sm_pool_conf **pools;
	size_t	 npools;
	/* cache { }: the verdict cache shared through Redis */
	char	*cache_redis;		/* NULL: none */
	char	*cache_prefix;
	char	*cache_password;	/* NULL: no AUTH */
	long long cache_ttl, cache_timeout, cache_retry;	/* ms */
	long long cache_max_conns;	/* per engine */
	/* plug-ins to load, and the parsed text their blocks are bound
	 * from once loaded (private; NULL when there are none) */
	struct sm_module **modules;
	size_t	 nmodules;
	struct cf_node *tree;
};

/* One scope kind of the grammar and its options, for docs and checks. */
struct conf_scope_doc {
	const char *keyword;
	const char *synopsis;	/* e.g. "antivirus \"NAME\" { … }" */
	const char *help;
	const struct sm_option *options;
};

/*
 * Reads and checks path.  Returns a snapshot owned by the caller, or NULL
 * with "FILE:LINE: option 'NAME': reason" in err.  Engines are not
 * started and plug-ins not loaded: generation_new() does that (and binds
 * the plug-ins' blocks with conf_bind_module).
 */
struct sm_conf *conf_load(const char *path, char *err, size_t errlen);

/* Same as conf_load, from a buffer (tests, fuzzing); name is used in
 * messages. */
struct sm_conf *conf_load_buffer(const char *name, const char *buf,
		    size_t len, char *err, size_t errlen);

/* c parsed again from the text it was built from (its file is not read
 * again; drop-ins it includes are), as a new snapshot; NULL with the
 * reason in err. */
struct sm_conf *conf_reparse(const struct sm_conf *c, char *err,
		    size_t errlen);

/* The directories under file_base (conf_start.c): the spool for large
 * messages and an engine's private temporary directory (the caller frees
 * the path), created as private directories by conf_private_dir. */
char	*conf_spool_path(const struct sm_conf *);
char	*conf_engine_tmp_path(const struct sm_av *,
	    const struct sm_engine_inst *);
int	conf_private_dir(const char *dir, char *err, size_t errlen);

/* At daemon start only: removes what a crash left in the spool and the
 * engines' temporary directories (never on reload: they are in use). */
void	conf_clean_stale(const struct sm_conf *);

/* As root, before dropping to uid:gid: makes the private directories
 * under a root-owned file_base and gives them to uid, by descriptor (a
 * file_base owned by uid is left to it).  -1 with the reason in err. */
int	conf_prepare_dirs(const struct sm_conf *, uid_t, gid_t, char *err,
	    size_t errlen);

void	conf_free(struct sm_conf *);	/* takes NULL */

/* The engine name of a block: its table's, or its plug-in's before that
 * is loaded. */
const char *conf_engine_kind(const struct sm_engine_inst *);

/*
 * Binds the blocks of plug-in m, loaded as ops, from the parsed text: a
 * top-level "NAME { }" of defaults and every NAME "INSTANCE" { } block
 * (its own options, checked with file and line; its default pool).  Only
 * generation_new() calls it, before anything else reads c; blocks bound
 * already are left alone.  0, or -1 with the reason in err.
 */
int	conf_bind_module(struct sm_conf *, const struct sm_module *m,
	    const struct sm_engine_ops *ops, char *err, size_t errlen);

/* The i-th engine block of the configuration, counting in instance
 * order, with its instance in *av; NULL past the last.  The one walk over
 * instances x engines of the parsed data (a generation's is
 * generation_engines()). */
const struct sm_engine_inst *conf_engine(const struct sm_conf *, size_t i,
		    const struct sm_av **av);

/* NULL-terminated list of the daemon's scopes (engine scopes excluded). */
const struct conf_scope_doc *conf_scopes(void);

/* Options every engine block accepts besides its own. */
extern const struct sm_option engine_common_options[];

#define FACILITY_CHOICES \
	"mail|daemon|user|local0|local1|local2|local3|local4|local5|local6|local7"
#define LEVEL_CHOICES "error|warning|notice|info|debug"
int	conf_syslog_facility(int idx);
int	conf_syslog_priority(int idx);

#endif
