# Debian package (included by the top Makefile).
#   make deb        build/carnitrack-edge_<version>_<arch>.deb (+ .changes,
#                   .buildinfo, -dbgsym .deb) and a lintian report
#   make test-deb   build, install, run, purge: tests/packaging/test_deb.sh
# debian/ is a build artefact copied from packaging/debian each time.


.PHONY: deb deb-deps test-deb deb-lintian

deb-deps:
	@packaging/deb-deps.sh

# Packages land in build/ directly (dh_builddeb --destdir, the .changes and
# .buildinfo by name), so nothing is written next to the checkout.
deb: deb-deps
	rm -rf debian
	cp -R packaging/debian debian
	mkdir -p build
	name=build/$$(dpkg-parsechangelog -l debian/changelog -S Source)_$$(dpkg-parsechangelog \
	  -l debian/changelog -S Version)_$$(dpkg-architecture -qDEB_HOST_ARCH) && \
	CT_DEB_OUT=$(CURDIR)/build dpkg-buildpackage -us -uc -b --jobs=auto \
	  --buildinfo-option=-u$(CURDIR)/build --changes-option=-u$(CURDIR)/build \
	  --buildinfo-file=$$name.buildinfo --changes-file=$$name.changes
	$(MAKE) --no-print-directory deb-lintian

# Errors fail the build; every warning is either fixed or overridden with a
# reason in packaging/debian/*lintian-overrides, so warnings fail it too.
deb-lintian:
	lintian --fail-on error,warning --display-info \
	  build/carnitrack-edge_*_$$(dpkg-architecture -qDEB_HOST_ARCH).changes

test-deb:
	tests/packaging/test_deb.sh
