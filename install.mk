# install.mk - installing lightchat and building its Debian package
# (included by the Makefile).
#   make install   PREFIX (/usr) and DESTDIR (empty): the FHS layout below
#   make deb       build/lightchat_<version>_<arch>.deb (dpkg-buildpackage,
#                  in a copy of the tree under build/deb/); DEB_VERSION=V
#                  builds it as version V (the package test's upgrade)
#   make man       the man pages into build/man/ (lightchat.conf(5) lists
#                  every setting: made from the settings table)
#   make conffile  build/lightchat.conf, the commented file of every setting,
#                  and build/lightchat.conf.installed, the one installed:
#                  conf/lightchat.conf.head (what the units and the
#                  snippet need) on top of it
#
# Layout (docs/ARCHITECTURE.md, "Installed files"):
#   $(PREFIX)/lib/lightchat/      lightchat.fcgi lightchat-ws lightchat-worker
#                                 lightchat-admin lightchat-websocketd
#   $(PREFIX)/bin/lightchat-admin a symlink to the above
#   $(PREFIX)/share/lightchat/www the page (its JavaScript libraries are
#                                 Debian's, under /usr/share/javascript and
#                                 /usr/share/nodejs: lighttpd aliases them)
#   $(SYSCONFDIR)/lightchat/lightchat.conf   conf/lightchat.conf.head, then
#                                 every setting, commented out
#   $(SYSCONFDIR)/lighttpd/conf-available/   conf/*.conf, when present
#   $(SYSTEMDUNITDIR)/            systemd/*.service|socket|timer|target
#   $(PREFIX)/share/man/man{5,7,8}, $(PREFIX)/share/doc/lightchat
# State (/var/lib/lightchat) and sockets (/run/lightchat) are made at run
# time (the package's postinst, the units), never installed.

PREFIX         ?= /usr
SYSCONFDIR     ?= /etc
LIBDIR_LC      ?= $(PREFIX)/lib/lightchat
DATADIR_LC     ?= $(PREFIX)/share/lightchat
MANDIR         ?= $(PREFIX)/share/man
DOCDIR         ?= $(PREFIX)/share/doc/lightchat
# Debian 12 keeps units in /lib/systemd/system; elsewhere under PREFIX.
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
INSTALL        ?= install

# The version: debian/changelog's first entry, the one place it is written.
VERSION ?= $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)

PKG_PROGRAMS := $(FCGI_BIN) $(WS_BIN) $(WORKER_BIN) $(ADMIN_BIN)
PKG_WWW      := $(shell find www -type f -not -name '.*' | sort)
PKG_UNITS    := $(wildcard systemd/*.service systemd/*.socket systemd/*.timer systemd/*.target)
PKG_LIGHTTPD := $(wildcard conf/*.conf)
PKG_DOCS     := README.md docs/ARCHITECTURE.md docs/PROTOCOL.md \
                docs/SECURITY.md docs/DEPLOY.md docs/SCALING.md \
                docs/front-connlimit.nft conf/haproxy.cfg
MAN_PAGES    := $(BUILD)/man/lightchat.7 $(BUILD)/man/lightchat.conf.5 \
                $(BUILD)/man/lightchat-admin.8
CONFFILE     := $(BUILD)/lightchat.conf
CONFFILE_INST := $(BUILD)/lightchat.conf.installed

.PHONY: install man conffile deb

conffile: $(CONFFILE) $(CONFFILE_INST)
man: $(MAN_PAGES)

# Made by the admin tool from the settings table, whatever this host's
# configuration says (--template reads none).
$(CONFFILE): $(ADMIN_BIN)
	$(ADMIN_BIN) config --template >$@.tmp && mv $@.tmp $@

$(CONFFILE_INST): conf/lightchat.conf.head $(CONFFILE)
	cat conf/lightchat.conf.head $(CONFFILE) >$@.tmp && mv $@.tmp $@

# lightchat.conf(5): man/lightchat.conf.5.in with its @SETTINGS@ line
# replaced by every setting of the template (scripts/conf2man.awk).
$(BUILD)/man/lightchat.conf.5: man/lightchat.conf.5.in $(CONFFILE) scripts/conf2man.awk debian/changelog
	@mkdir -p $(dir $@)
	awk -v version='$(VERSION)' -f scripts/conf2man.awk $(CONFFILE) man/lightchat.conf.5.in >$@.tmp && mv $@.tmp $@

$(BUILD)/man/%: man/% debian/changelog
	@mkdir -p $(dir $@)
	sed 's/@VERSION@/$(VERSION)/g' $< >$@

install: programs $(CONFFILE_INST) $(MAN_PAGES)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR_LC) $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(DATADIR_LC)/www \
	    $(DESTDIR)$(SYSCONFDIR)/lightchat $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(PKG_PROGRAMS) $(DESTDIR)$(LIBDIR_LC)/
	$(INSTALL) -m 0755 systemd/lightchat-websocketd $(DESTDIR)$(LIBDIR_LC)/
	ln -sf $(if $(filter /usr,$(PREFIX)),../lib/lightchat,$(LIBDIR_LC))/lightchat-admin \
	    $(DESTDIR)$(PREFIX)/bin/lightchat-admin
	for f in $(PKG_WWW); do \
	    $(INSTALL) -D -m 0644 "$$f" "$(DESTDIR)$(DATADIR_LC)/$$f" || exit 1; done
	$(INSTALL) -m 0644 $(CONFFILE_INST) $(DESTDIR)$(SYSCONFDIR)/lightchat/lightchat.conf
	$(INSTALL) -m 0644 $(BUILD)/man/lightchat.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 $(BUILD)/man/lightchat.7 $(DESTDIR)$(MANDIR)/man7/
	$(INSTALL) -m 0644 $(BUILD)/man/lightchat-admin.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 $(PKG_DOCS) $(DESTDIR)$(DOCDIR)/
ifneq ($(PKG_UNITS),)
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDUNITDIR)
	$(INSTALL) -m 0644 $(PKG_UNITS) $(DESTDIR)$(SYSTEMDUNITDIR)/
endif
ifneq ($(PKG_LIGHTTPD),)
	$(INSTALL) -d $(DESTDIR)$(SYSCONFDIR)/lighttpd/conf-available
	$(INSTALL) -m 0644 $(PKG_LIGHTTPD) $(DESTDIR)$(SYSCONFDIR)/lighttpd/conf-available/
endif

# The package is built in a copy of the tree (the files git knows, and new
# ones it does not ignore; outside git, the tree without its build outputs): dpkg-buildpackage writes next to its source
# directory and its clean step runs `make clean`, which would remove this
# build/. DEB_VERSION puts a changelog entry of that version on top.
DEB_WORK := $(BUILD)/deb
deb:
	rm -rf $(DEB_WORK) && mkdir -p $(DEB_WORK)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z --cached --others --exclude-standard | \
	    xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
	    tar --null -T - -cf - | tar -xf - -C $(DEB_WORK)/src; \
	else \
	    tar --exclude-vcs --exclude=./build --exclude=./build-asan \
	        --exclude=./build-fuzz --exclude=./state --exclude=./tests/artifacts \
	        --exclude=node_modules -cf - . | tar -xf - -C $(DEB_WORK)/src; \
	fi
ifneq ($(DEB_VERSION),)
	{ printf 'lightchat (%s) unstable; urgency=medium\n\n  * Built as %s (make deb DEB_VERSION=).\n\n -- %s  %s\n\n' \
	    '$(DEB_VERSION)' '$(DEB_VERSION)' \
	    "$$(sed -n 's/^ -- \(.*>\)  .*/\1/p' debian/changelog | head -1)" \
	    "$$(date -R)"; cat debian/changelog; } >$(DEB_WORK)/src/debian/changelog
endif
	cd $(DEB_WORK)/src && dpkg-buildpackage -b --no-sign $(DEB_BUILD_FLAGS)
	cp $(DEB_WORK)/lightchat_*.deb $(BUILD)/
	@ls $(BUILD)/lightchat_*.deb
