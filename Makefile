# Anquan - top-level build.
#
# Everything generated (protobuf-c code, objects, binaries) goes under
# $(BUILD) (default build/), which git ignores.  The sanitizer build lives in
# build/asan and is what `make test` runs.  `make help` lists the targets.

BUILD   ?= build
SAN     ?=
CC      ?= cc
PKGS     = libzmq libprotobuf-c libevent libevent_pthreads libpq libcjson inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
ifeq ($(SAN),1)
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	   -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Icommon -I$(BUILD)/gen \
	     $(PKG_CFLAGS) -MMD -MP
LIBS     = $(PKG_LIBS) -lpthread -lm

PROTOS   := $(wildcard proto/*.proto)
GEN_C    := $(patsubst proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
GEN_H    := $(GEN_C:.c=.h)
# MODULES="log cfg" restricts the library to those modules (to build one
# module's tests while others are being written).
MODULES  ?=
ifeq ($(strip $(MODULES)),)
COMMON_C := $(wildcard common/*.c)
else
COMMON_C := $(addprefix common/,$(addsuffix .c,$(MODULES)))
endif
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(COMMON_C)) \
	    $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(GEN_C))
LIB      := $(BUILD)/libanquan.a

SERVICES := $(patsubst services/%/,%,$(sort $(dir $(wildcard services/*/main.c))))
BINS     := $(addprefix $(BUILD)/bin/,$(SERVICES))
UNIT_C   := $(wildcard tests/unit/test_*.c)
UNITS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_C))
SYS_C    := $(wildcard tests/system/*.c)
SYSBINS  := $(patsubst tests/system/%.c,$(BUILD)/tests/sys/%,$(SYS_C))
BENCH_C  := $(wildcard tests/bench/*.c)
BENCHES  := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_C))

.PHONY: all build-all deps test check-asan unit system run stop bench fmt lint \
	clean help
.DEFAULT_GOAL := all
# Keep objects of test programs (make would delete them as intermediates).
.SECONDARY:

all: build-all

build-all: $(LIB) $(BINS) $(UNITS) $(SYSBINS) $(BENCHES)

help:
	@echo "make            build daemons, tools and tests (-Wall -Wextra -Werror)"
	@echo "make deps       install the Debian packages Anquan needs (only missing ones)"
	@echo "make test       install deps, build, run unit + system tests under ASan/UBSan"
	@echo "make unit       unit tests only (sanitizer build)"
	@echo "make system     system tests only (sanitizer build, private PostgreSQL)"
	@echo "make run        start the private PostgreSQL cluster and the daemons (demo city)"
	@echo "make stop       stop what make run started"
	@echo "make bench      run every benchmark under tests/bench (make bench-NAME for one)"
	@echo "make fmt        format the C sources with clang-format"
	@echo "make lint       cppcheck and clang-tidy over common/ and services/"
	@echo "make clean      remove build/"

deps:
	@deploy/install-deps.sh

# --- generated protobuf-c code ---------------------------------------------
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -Iproto $<

# Every object may include generated headers: generate them first.
$(BUILD)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# --- daemons and tools: services/<name>/*.c -> $(BUILD)/bin/<name> ---------
# Everything of a service but main.c also goes into $(BUILD)/svc/lib<name>.a,
# so unit tests (tests/unit/test_<name>_*.c) can test its pure parts.
SVC_LIBS := $(foreach s,$(SERVICES),$(BUILD)/svc/lib$(s).a)
define service_rule
$(BUILD)/svc/lib$(1).a: $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out services/$(1)/main.c,$(wildcard services/$(1)/*.c)))
	@mkdir -p $(BUILD)/svc
	@rm -f $$@
	ar rcs $$@ $$^
$(BUILD)/bin/$(1): $(BUILD)/obj/services/$(1)/main.o $(BUILD)/svc/lib$(1).a $(LIB)
	@mkdir -p $(BUILD)/bin
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

# --- tests and benchmarks: one .c, one program ------------------------------
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(SVC_LIBS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

$(BUILD)/tests/sys/%: $(BUILD)/obj/tests/system/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Benchmarks may compare against other libraries (jansson for the JSON choice).
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -ljansson

# --- tests ------------------------------------------------------------------
# `make test` builds the plain tree (warnings are errors) and the sanitizer
# tree, then runs every test against the sanitizer build.
test: deps
	$(MAKE) build-all
	$(MAKE) BUILD=build/asan SAN=1 build-all
	tests/run.sh build/asan

check-asan: test

unit: deps
	$(MAKE) BUILD=build/asan SAN=1 build-all
	tests/run.sh build/asan unit

system: deps
	$(MAKE) BUILD=build/asan SAN=1 build-all
	tests/run.sh build/asan system

# --- the demo ---------------------------------------------------------------
run: deps
	$(MAKE) build-all
	deploy/run.sh start

stop:
	deploy/run.sh stop

# --- benchmarks: tests/bench/<name>.sh, `make bench-<name>` -------------------
BENCH_SH := $(filter-out bench_lib,$(patsubst tests/bench/%.sh,%,$(wildcard tests/bench/*.sh)))
bench: $(addprefix bench-,$(BENCH_SH))
bench-%: deps
	$(MAKE) build-all
	tests/bench/$*.sh $(BUILD)

# --- housekeeping -----------------------------------------------------------
SRC_ALL = $(wildcard common/*.[ch] services/*/*.[ch] tests/*/*.[ch])
fmt:
	clang-format -i $(SRC_ALL)

lint: $(GEN_H)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr --suppress=missingIncludeSystem -Icommon -I$(BUILD)/gen \
	    common services
	clang-tidy --quiet $(wildcard common/*.c services/*/*.c) -- \
	    -std=gnu11 -D_GNU_SOURCE -Icommon -I$(BUILD)/gen $(PKG_CFLAGS)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
