# scanmilter's front door.  On a fresh Debian 12 machine, as root:
#   make run     install what is needed, build, run the daemon in the
#                foreground on the bundled config (etc/scanmilter-run.conf)
#   make check   install what is needed, build, run every test
#   make bench   install what is needed, build, measure scanmilter against
#                clamav-milter+clamd and libclamav's own rate (bench/RESULTS.md)
# The real build is autoconf/automake, out of tree in build/ (and an
# AddressSanitizer/UBSan build of the unit tests in build-asan/).

BUILD	?= build
ASAN	?= build-asan
TSAN	?= build-tsan
JOBS	?= $(shell nproc 2>/dev/null || echo 2)
CONFIGURE_FLAGS ?= --enable-werror --sysconfdir=/etc --localstatedir=/var
SAN	= -fsanitize=address,undefined -fno-sanitize-recover=undefined

# Debian 12 packages.  `make run` installs only DEBS_BUILD (what building
# and running need: never an MTA, which on a user's host would replace
# theirs); `make check` adds DEBS_TEST (a real Postfix, miltertest, clang
# for the fuzzers...).
DEBS_BUILD = autoconf automake make gcc pkg-config libmilter-dev \
	libclamav-dev libxml2-dev libevent-dev libssl-dev libcmocka-dev \
	libhiredis-dev
DEBS_TEST = postfix swaks libio-socket-inet6-perl miltertest procps \
	iproute2 util-linux mount m4 libldap-2.5-0 curl mandoc man-db \
	groff-base python3 clang libclang-rt-14-dev clamav-daemon \
	debhelper devscripts lintian clamav clamav-testfiles redis-server
# (m4 and libldap-2.5-0: t/lib/sendmail.sh's unpacked Sendmail; postfix
# brings its other libraries.  Its .debs come from `apt-get download`.
# curl scrapes the metrics; mandoc, man-db and groff-base check the man
# pages; python3 writes test mail and reads the metrics and notify socket;
# clang builds the libFuzzer targets; clamav-daemon is the clamd farm the
# clamd engine is tested against, on private sockets: its own service is
# never started, nor is redis-server's (t/integration/redis.sh starts
# its own); debhelper, devscripts and lintian build and check the Debian
# package in t/integration/package.sh; clamav (sigtool) and
# clamav-testfiles give the short soak in t/integration/soak.sh its
# clam.exe signature.)
# ... and to benchmark against clamav-milter+clamd (bench/run.sh). The
# packages' daemons (clamd, freshclam) are neither started nor needed.
DEBS_BENCH = clamav clamav-daemon clamav-milter clamav-testfiles python3 time

# $(call install_missing,PACKAGES): installs those not installed yet.
# --no-remove: an install that would remove a package (another MTA that
# postfix conflicts with) stops instead.  postfix is preseeded to write no
# config; a policy-rc.d that refuses every start keeps the packages'
# daemons (postfix, clamd, freshclam, clamav-milter) from starting while
# they install (only when there is none already; removed afterwards).
define install_missing
	@missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    echo 'postfix postfix/main_mailer_type select No configuration' \
	        | debconf-set-selections; \
	    prc=; if [ ! -e /usr/sbin/policy-rc.d ]; then prc=1; \
	        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
	        chmod 755 /usr/sbin/policy-rc.d; fi; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq --no-remove $$missing >/dev/null; rc=$$?; \
	    [ -z "$$prc" ] || rm -f /usr/sbin/policy-rc.d; \
	    [ $$rc -eq 0 ] || { echo "apt-get install failed (it never removes" \
	        "an installed package, such as another MTA)" >&2; exit 1; }; \
	fi
endef

.PHONY: all deps test-deps tsan-daemon soak run check unit integration bench bench-deps clean distclean

all: $(BUILD)/Makefile
	$(MAKE) -C $(BUILD) -j$(JOBS)

configure: configure.ac Makefile.am
	autoreconf -fi

$(BUILD)/Makefile: configure
	mkdir -p $(BUILD)
	cd $(BUILD) && ../configure $(CONFIGURE_FLAGS)

$(ASAN)/Makefile: configure
	mkdir -p $(ASAN)
	cd $(ASAN) && ../configure $(CONFIGURE_FLAGS) \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer $(SAN)" LDFLAGS="$(SAN)"

$(TSAN)/Makefile: configure
	mkdir -p $(TSAN)
	cd $(TSAN) && ../configure $(CONFIGURE_FLAGS) \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=thread" \
	    LDFLAGS="-fsanitize=thread"

# The test daemon under ThreadSanitizer (t/integration/tsan.sh).
tsan-daemon: $(TSAN)/Makefile
	$(MAKE) -C $(TSAN) -j$(JOBS) t/scanmilter-test

deps:
	$(call install_missing,$(DEBS_BUILD))
test-deps: deps
	$(call install_missing,$(DEBS_TEST))

run: deps all
	mkdir -p /run/scanmilter
	exec $(BUILD)/src/scanmilter -f -c etc/scanmilter-run.conf

# Unit tests under ASan/UBSan, then the daemon through miltertest and a
# real Postfix; t/check.sh prints the totals.
check: test-deps all $(ASAN)/Makefile
	bash t/check.sh $(BUILD) $(ASAN) $(JOBS)

unit: $(ASAN)/Makefile
	$(MAKE) -C $(ASAN) -j$(JOBS) check

integration: all
	bash t/check.sh --integration-only $(BUILD) $(ASAN) $(JOBS)

# A quick run: make bench COUNT=200 REPS=1 CONCURRENCY="1 8" (see
# bench/run.sh).
bench-deps:
	$(call install_missing,$(DEBS_BENCH))

bench: test-deps all bench-deps
	BUILD="$(abspath $(BUILD))" bash bench/run.sh

# The daemon under load and faults (bench/soak.sh): 100,000 messages at
# concurrency 32 by default; the table goes to bench/SOAK.md only when
# asked (make soak SOAK_REPORT=bench/SOAK.md).
soak: test-deps all bench-deps
	$(MAKE) -C $(BUILD) t/scanmilter-test bench/miltergen
	BUILD="$(abspath $(BUILD))" bash bench/soak.sh

# Installs the daemon, example config, systemd unit, SysV script, tmpfiles.d
# and sysusers.d entries (see the end of Makefile.am), under configure's
# prefix (/usr/local; the config in /etc/scanmilter).  Stage with
# make install DESTDIR=/tmp/stage.
.PHONY: install distcheck
install: all
	$(MAKE) -C $(BUILD) install

# Builds the tarball, then configures, builds, runs the unit tests,
# installs and uninstalls from it in a scratch directory.
distcheck: $(BUILD)/Makefile
	$(MAKE) -C $(BUILD) distcheck

clean:
	-$(MAKE) -C $(BUILD) clean
	-$(MAKE) -C $(ASAN) clean
	-$(MAKE) -C $(TSAN) clean

distclean:
	rm -rf $(BUILD) $(ASAN) $(TSAN) autom4te.cache build-aux aclocal.m4 \
	    configure config.h.in Makefile.in
