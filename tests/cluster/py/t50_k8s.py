#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Test 50: the Kubernetes manifests in deploy/kubernetes hold together.

Static checks on the parsed YAML (labels and selectors, serviceName, ports
of Services, containers and probes, volumes and their sources), then a run
of the pod's own scripts against a copy of the container's file tree built
from the manifest's volumes: entrypoint.sh renders tern.conf (checked with
Tern's real config parser through a small helper linked with libcommon.a,
and against the key table of common/conf_keys.c) and installs the keys made
by the real `ternctl keys create`; prestop.sh is run for a pod that stays
and for one that is scaled away, and the ternctl command it runs is parsed
by the real ternctl.  Finally every check is shown to fail on purpose:
each mutation of a copy of the manifests must be caught.

usage: t50_k8s.py --srcdir DIR --work DIR [--ternctl BIN] [--helper BIN]
"""
import argparse
import os
import re
import shutil
import stat
import subprocess
import sys

import yaml

POD_NAMESPACE = "ns-test"
CLUSTER_DOMAIN = "cluster.local"


class Ctx:
    """What the checks need besides the manifests."""

    def __init__(self, args):
        self.srcdir = os.path.abspath(args.srcdir)
        self.work = os.path.abspath(args.work)
        self.ternctl = args.ternctl
        self.helper = args.helper
        self.shim = os.path.join(self.work, "ternctl-shim")
        self.kubectl = shutil.which("kubectl")
        self.shellcheck = shutil.which("shellcheck")
        self.notes = []
        src = self.srcdir
        with open(os.path.join(src, "common/conf_keys.c")) as f:
            text = f.read()
        self.keys = set(re.findall(r'\{\s*"([a-z0-9_.]+)",\s*CONF_T_', text))
        with open(os.path.join(src, "common/conf.c")) as f:
            text = f.read()
        m = re.search(r"listener_kinds\[\]\s*=\s*\{([^}]*)\}", text)
        self.kinds = re.findall(r'"([a-z]+)"', m.group(1)) if m else []
        with open(os.path.join(src, "common/conf.h")) as f:
            m = re.search(r'#define\s+CONF_DEFAULT_PATH\s+"([^"]+)"',
                          f.read())
        self.default_conf = m.group(1) if m else "/etc/tern/tern.conf"
        with open(os.path.join(src, "ternctl/keys.c")) as f:
            self.key_files = sorted(set(re.findall(r'"%s/([a-z.]+)"',
                                                   f.read())))
        if not self.keys or not self.kinds or not self.key_files:
            raise SystemExit("cannot read the key table, listener kinds "
                             "or key file names from the sources")
        self.secrets = self.make_secrets()

    def make_secrets(self):
        """Contents of the Secrets the docs tell the operator to create."""
        keys = {}
        kdir = os.path.join(self.work, "keys")
        if self.ternctl:
            if not os.path.isdir(kdir):
                r = run([self.ternctl, "keys", "create", kdir])
                if r.returncode != 0:
                    raise SystemExit("ternctl keys create: " + r.stdout)
            for name in os.listdir(kdir):
                with open(os.path.join(kdir, name)) as f:
                    keys[name] = f.read()
            if sorted(keys) != self.key_files:
                raise SystemExit("ternctl keys create made %s, keys.c "
                                 "names %s" % (sorted(keys), self.key_files))
        else:
            self.notes.append("no ternctl: fake key files")
            for name in self.key_files:
                keys[name] = "x" * 40 + "\n"
        users = {"passwd": "alice:$7$101$c2FsdA==$aGFzaA==\n"}
        return {"tern-keys": keys, "tern-users": users}


def run(argv, env=None, timeout=60):
    return subprocess.run(argv, env=env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def under(path, mount):
    """path is mount or below it."""
    mount = mount.rstrip("/")
    return path == mount or path.startswith(mount + "/")


def script_const(text, name):
    """The value of `name=VALUE` (or name=${X:-VALUE}) in a shell script."""
    m = re.search(r"^%s=(?:\$\{[A-Z_]+:-)?([^}\s]+)\}?" % re.escape(name),
                  text, re.M)
    return m.group(1) if m else None


class Manifests:
    """The objects a kustomization lists, generated ConfigMaps included."""

    def __init__(self, mdir, err):
        self.dir = mdir
        self.objs = []
        self.generated = {}
        kpath = os.path.join(mdir, "kustomization.yaml")
        try:
            with open(kpath) as f:
                kust = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            err("kustomization.yaml: %s" % e)
            return
        resources = kust.get("resources") or []
        for name in sorted(os.listdir(mdir)):
            if not name.endswith((".yaml", ".yml")):
                continue
            if name != "kustomization.yaml" and name not in resources:
                err("%s is not listed in kustomization.yaml resources"
                    % name)
        for res in resources:
            path = os.path.join(mdir, res)
            try:
                with open(path) as f:
                    docs = [d for d in yaml.safe_load_all(f) if d]
            except (OSError, yaml.YAMLError) as e:
                err("%s: %s" % (res, e))
                continue
            for d in docs:
                if not isinstance(d, dict) or "kind" not in d or \
                        "metadata" not in d:
                    err("%s: not a Kubernetes object" % res)
                    continue
                if "namespace" in d["metadata"]:
                    err("%s: %s sets a namespace (the manifests are "
                        "namespace-agnostic)" % (res, d["kind"]))
                d["_file"] = res
                self.objs.append(d)
        for gen in kust.get("configMapGenerator") or []:
            data = {}
            for spec in gen.get("files") or []:
                key, _, path = spec.partition("=")
                if not path:
                    key, path = os.path.basename(spec), spec
                try:
                    with open(os.path.join(mdir, path)) as f:
                        data[key] = f.read()
                except OSError as e:
                    err("configMapGenerator %s: %s" % (gen.get("name"), e))
            for lit in gen.get("literals") or []:
                k, _, v = lit.partition("=")
                data[k] = v
            self.objs.append({"kind": "ConfigMap", "metadata":
                              {"name": gen.get("name")}, "data": data,
                              "_file": "configMapGenerator"})

    def of_kind(self, kind):
        return [o for o in self.objs if o.get("kind") == kind]

    def get(self, kind, name):
        for o in self.of_kind(kind):
            if o["metadata"].get("name") == name:
                return o
        return None


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v
                                  for k, v in selector.items())


class Stop(Exception):
    """A check failed in a way that makes the later ones meaningless."""


class Check:
    """Every check on the manifests in one directory; errors collects what
    failed.  tag names this run's files under the work directory."""

    def __init__(self, mdir, ctx, tag):
        self.ctx = ctx
        self.tag = tag
        self.errors = []
        self.man = Manifests(mdir, self.err)

    def err(self, msg):
        self.errors.append(msg)

    def run(self):
        try:
            self.objects()
            self.ports()
            self.volumes()
            self.commands()
            self.config()
            self.prestop()
        except Stop as e:
            self.err(str(e))
        return self.errors

    def objects(self):
        """The StatefulSet, its labels and selectors, the other objects."""
        man, err = self.man, self.err
        stss = man.of_kind("StatefulSet")
        if len(stss) != 1:
            raise Stop("want exactly one StatefulSet, found %d" % len(stss))
        sts = stss[0]
        self.name = sts["metadata"]["name"]
        self.spec = spec = sts["spec"]
        self.labels = labels = spec["template"]["metadata"].get("labels") \
            or {}
        self.podspec = podspec = spec["template"]["spec"]
        if not matches(spec["selector"].get("matchLabels"), labels):
            err("StatefulSet selector %s does not select its pod labels %s"
                % (spec["selector"].get("matchLabels"), labels))
        for svc in man.of_kind("Service"):
            if not matches(svc["spec"].get("selector"), labels):
                err("Service %s: selector %s does not select the pods %s"
                    % (svc["metadata"]["name"], svc["spec"].get("selector"),
                       labels))
        pdbs = man.of_kind("PodDisruptionBudget")
        if len(pdbs) != 1:
            err("want one PodDisruptionBudget, found %d" % len(pdbs))
        for pdb in pdbs:
            if not matches((pdb["spec"].get("selector") or {})
                           .get("matchLabels"), labels):
                err("PodDisruptionBudget selector does not select the pods")
            if pdb["spec"].get("maxUnavailable") != 1:
                err("PodDisruptionBudget: maxUnavailable is not 1")
        for kind in ("Role", "ClusterRole", "RoleBinding",
                     "ClusterRoleBinding", "ServiceAccount"):
            if man.of_kind(kind):
                err("a %s: discovery must need no API rights" % kind)
        if podspec.get("automountServiceAccountToken") is not False:
            err("automountServiceAccountToken is not false")
        psc = podspec.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True or not psc.get("fsGroup"):
            err("pod securityContext: want runAsNonRoot and fsGroup")
        self.headless = hl = man.get("Service", spec.get("serviceName"))
        if hl is None:
            err("serviceName %s: no such Service" % spec.get("serviceName"))
        else:
            if hl["spec"].get("clusterIP") != "None":
                err("Service %s (serviceName) is not headless (clusterIP: "
                    "None)" % spec["serviceName"])
            if hl["spec"].get("publishNotReadyAddresses") is not True:
                err("Service %s: publishNotReadyAddresses is not true (pods "
                    "waiting to join could not be found)"
                    % spec["serviceName"])
        if spec.get("podManagementPolicy") != "Parallel":
            err("podManagementPolicy is not Parallel")
        self.replicas = spec.get("replicas", 1)
        if not isinstance(self.replicas, int) or self.replicas < 3:
            err("replicas %r: want at least 3" % self.replicas)
            self.replicas = 3
        if not spec.get("volumeClaimTemplates"):
            err("no volumeClaimTemplates (data_dir would not survive)")
        if len(podspec.get("containers") or []) != 1:
            raise Stop("want one container")
        self.ctr = podspec["containers"][0]
        self.ostart = (spec.get("ordinals") or {}).get("start", 0)
        self.pod_host = "%s-%%d.%s.%s.svc.%s" % (
            self.name, spec.get("serviceName"), POD_NAMESPACE,
            CLUSTER_DOMAIN)

    def resolve(self, port):
        """The container port number a Service or probe port means."""
        if isinstance(port, int):
            return port if port in self.cports.values() else None
        return self.cports.get(port)

    def ports(self):
        """Services' target ports and probes against the container's."""
        err, ctr = self.err, self.ctr
        self.cports = {p.get("name"): p["containerPort"]
                       for p in ctr.get("ports") or []}
        for svc in self.man.of_kind("Service"):
            for p in svc["spec"].get("ports") or []:
                t = p.get("targetPort", p.get("port"))
                if self.resolve(t) is None:
                    err("Service %s port %s: targetPort %s is no container "
                        "port" % (svc["metadata"]["name"], p.get("name"), t))
                elif self.resolve(t) != p.get("port"):
                    err("Service %s port %s: port %s but targetPort %s is %s"
                        % (svc["metadata"]["name"], p.get("name"),
                           p.get("port"), t, self.resolve(t)))
        if self.headless is not None:
            names = {p.get("name") for p in
                     self.headless["spec"].get("ports") or []}
            for want in ("mqtt", "cluster", "http"):
                if want not in names:
                    err("headless Service has no %s port" % want)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            pr = ctr.get(probe)
            if pr is None:
                if probe != "startupProbe":
                    err("no %s" % probe)
                continue
            get = pr.get("httpGet") or {}
            if get.get("path") != "/health":
                err("%s: path %s, want /health" % (probe, get.get("path")))
            port = self.resolve(get.get("port"))
            if port is None or port != self.cports.get("http"):
                err("%s: port %s is not the container's http port %s"
                    % (probe, get.get("port"), self.cports.get("http")))

    def volumes(self):
        """The container's mounts: (mountPath, kind, mount, volume)."""
        vols = {v["name"]: v for v in self.podspec.get("volumes") or []}
        claims = {c["metadata"]["name"] for c in
                  self.spec.get("volumeClaimTemplates") or []}
        self.mounts = []
        for vm in self.ctr.get("volumeMounts") or []:
            v = vols.get(vm["name"])
            if v is None and vm["name"] not in claims:
                self.err("volumeMount %s: no such volume or claim"
                         % vm["name"])
                continue
            kind = "claim" if v is None else \
                ("emptyDir" if "emptyDir" in v else "source")
            if kind == "source" and not vm.get("readOnly"):
                self.err("volumeMount %s of a ConfigMap/Secret is not "
                         "readOnly" % vm["name"])
            self.mounts.append((vm["mountPath"], kind, vm, v))

    def mount_of(self, path):
        """The mount that holds path, or None."""
        best = None
        for m in self.mounts:
            if under(path, m[0]) and (best is None or
                                      len(m[0]) > len(best[0])):
                best = m
        return best

    def source_files(self, src):
        """(name, data, items) of one ConfigMap or Secret volume source."""
        if "configMap" in src:
            name = src["configMap"].get("name")
            cm = self.man.get("ConfigMap", name)
            if cm is None:
                self.err("volume: no ConfigMap %s" % name)
                return None
            return "ConfigMap " + name, cm.get("data") or {}, \
                src["configMap"].get("items")
        if "secret" in src:
            name = src["secret"].get("name")
            data = self.ctx.secrets.get(name)
            if data is None:
                self.err("volume: Secret %s is not one the docs create (%s)"
                         % (name, ", ".join(self.ctx.secrets)))
                return None
            return "Secret " + name, data, src["secret"].get("items")
        return None

    def build_root(self, root):
        """Makes under root the files the pod sees in its volumes."""
        for path, kind, vm, v in self.mounts:
            os.makedirs(root + path, exist_ok=True)
            if kind != "source":
                continue
            if "projected" in v:
                sources = v["projected"].get("sources") or []
            elif "configMap" in v:
                sources = [{"configMap": v["configMap"]}]
            elif "secret" in v:
                s = dict(v["secret"])
                s["name"] = s.pop("secretName", None)
                sources = [{"secret": s}]
            else:
                sources = []
            for src in sources:
                got = self.source_files(src)
                if got is None:
                    continue
                what, data, items = got
                if items is None:
                    items = [{"key": k, "path": k} for k in data]
                for it in items:
                    if it["key"] not in data:
                        self.err("%s has no key %s (it holds %s)" % (
                            what, it["key"], ", ".join(sorted(data))))
                        continue
                    f = os.path.join(root + path, it["path"])
                    os.makedirs(os.path.dirname(f), exist_ok=True)
                    with open(f, "w") as out:
                        out.write(data[it["key"]])

    def commands(self):
        """The entrypoint and preStop scripts, and the environment."""
        err, ctr = self.err, self.ctr
        self.cmd = ctr.get("command") or []
        self.pre = (((ctr.get("lifecycle") or {}).get("preStop") or {})
                    .get("exec") or {}).get("command") or []
        if len(self.cmd) != 2 or self.cmd[0] != "/bin/sh":
            raise Stop("container command %s: want [/bin/sh, "
                       "entrypoint.sh]" % self.cmd)
        if len(self.pre) != 2 or self.pre[0] != "/bin/sh":
            raise Stop("preStop command %s: want [/bin/sh, prestop.sh]"
                       % self.pre)
        for e in ctr.get("env") or []:
            if e["name"] == "TERN_ORDINAL_START" and \
                    str(e.get("value")) != str(self.ostart):
                err("TERN_ORDINAL_START %s is not the StatefulSet's first "
                    "ordinal %s" % (e.get("value"), self.ostart))
            if e["name"] == "TERN_HEADLESS_SERVICE" and \
                    e.get("value") != self.spec.get("serviceName"):
                err("TERN_HEADLESS_SERVICE %s is not serviceName %s"
                    % (e.get("value"), self.spec.get("serviceName")))
        self.scripts = {}
        for path in (self.cmd[1], self.pre[1]):
            base = os.path.basename(path)
            for o in self.man.of_kind("ConfigMap"):
                if base in (o.get("data") or {}):
                    self.scripts[path] = o["data"][base]
        if self.ctx.shellcheck and self.tag == "real":
            for path, text in self.scripts.items():
                f = os.path.join(self.ctx.work, os.path.basename(path))
                with open(f, "w") as out:
                    out.write(text)
                r = run([self.ctx.shellcheck, "-s", "sh", "-S", "warning",
                         f])
                if r.returncode != 0:
                    err("shellcheck %s:\n%s" % (path, r.stdout))

    def pod_env(self, ordinal, root):
        """The container's environment as Kubernetes would set it, plus
        the test's paths (TERN_ROOT, the ternctl stand-in)."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "TERN_ROOT": root, "TERNCTL": self.ctx.shim,
               "SHIM_DIR": root + ".shim", "SHIM_REAL":
               self.ctx.ternctl or "", "SHIM_CONF": root + ".conf",
               "TERN_LOG": root + ".log", "TERN_LEAVE_BUDGET": "5"}
        for e in self.ctr.get("env") or []:
            if "value" in e:
                env[e["name"]] = str(e["value"])
                continue
            path = ((e.get("valueFrom") or {}).get("fieldRef") or {}) \
                .get("fieldPath")
            if path == "metadata.name":
                env[e["name"]] = "%s-%d" % (self.name, ordinal)
            elif path == "metadata.namespace":
                env[e["name"]] = POD_NAMESPACE
        env.setdefault("TERN_CLUSTER_DOMAIN", CLUSTER_DOMAIN)
        return env

    def start_pod(self, ordinal):
        """Runs the entrypoint of pod `ordinal` in its own file tree;
        returns (root, conf, env), or raises Stop."""
        root = os.path.join(self.ctx.work, "%s-%s-%d" % (
            self.tag, self.name, ordinal))
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(root + ".shim", ignore_errors=True)
        self.build_root(root)
        if not os.path.isfile(root + self.cmd[1]):
            raise Stop("entrypoint %s is not in the pod's file tree"
                       % self.cmd[1])
        env = self.pod_env(ordinal, root)
        os.makedirs(env["SHIM_DIR"])
        r = run(["/bin/sh", root + self.cmd[1]], env=env)
        if r.returncode != 0:
            raise Stop("entrypoint of pod %d failed: %s"
                       % (ordinal, r.stdout.strip()))
        conf = root + self.ctx.default_conf
        if shim_calls(env["SHIM_DIR"]) != [["run", "-c", conf]]:
            raise Stop("entrypoint ran ternctl %s, want run -c %s" % (
                shim_calls(env["SHIM_DIR"]), self.ctx.default_conf))
        return root, conf, env

    def parse_conf(self, conf):
        """The rendered tern.conf: key names against conf_keys.c, values
        from Tern's own parser (the helper) when there is one."""
        settings = {}
        with open(conf) as f:
            lines = f.read().splitlines()
        for n, line in enumerate(lines, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, eq, value = line.partition("=")
            key = key.strip()
            if not eq:
                self.err("tern.conf:%d: not key = value" % n)
                continue
            parts = key.split(".")
            if key not in self.ctx.keys and not (
                    len(parts) == 3 and parts[0] == "listener" and
                    parts[1] in self.ctx.kinds):
                self.err("tern.conf:%d: unknown key %s (not in "
                         "common/conf_keys.c)" % (n, key))
            settings[key] = value.strip()
        if not self.ctx.helper:
            return settings
        r = run([self.ctx.helper, conf])
        if r.returncode != 0:
            raise Stop("Tern's config parser refuses the rendered "
                       "tern.conf: %s" % r.stdout.strip())
        return dict(ln.split("=", 1) for ln in r.stdout.splitlines()
                    if "=" in ln)

    def config(self):
        """What the entrypoint makes of the template, for a pod and for
        the seed pod: names, ports, paths on the right volumes, keys."""
        err = self.err
        self.root, conf, self.env = self.start_pod(self.ostart + 1)
        parsed = self.parse_conf(conf)
        host = self.pod_host % (self.ostart + 1)

        def hostport(key):
            h, _, p = parsed.get(key, "").rpartition(":")
            return h, int(p) if p.isdigit() else None

        for key, port in (("listener.tcp.default", "mqtt"),
                          ("listener.http.default", "http"),
                          ("cluster.listen", "cluster")):
            h, p = hostport(key)
            if p != self.cports.get(port):
                err("%s port %s is not the container port %s (%s)" % (
                    key, p, port, self.cports.get(port)))
            if h not in ("", "0.0.0.0", "*"):
                err("%s listens on %s only: probes and peers come to the "
                    "pod IP" % (key, h))
        if parsed.get("nodename") != "tern@" + host:
            err("nodename %s, want tern@%s" % (parsed.get("nodename"), host))
        if hostport("cluster.advertise") != (host, self.cports.get(
                "cluster")):
            err("cluster.advertise %s, want %s:%s" % (
                parsed.get("cluster.advertise"), host,
                self.cports.get("cluster")))
        if parsed.get("discovery") != "k8s":
            err("discovery is %s, not k8s" % parsed.get("discovery"))
        seed = "tern@" + self.pod_host % self.ostart
        if parsed.get("discovery.k8s.seed_node", seed) != seed:
            err("discovery.k8s.seed_node %s, want %s" % (
                parsed.get("discovery.k8s.seed_node"), seed))
        if str(parsed.get("discovery.k8s.ordinal_start", "0")) != \
                str(self.ostart):
            err("discovery.k8s.ordinal_start %s, want %s" % (
                parsed.get("discovery.k8s.ordinal_start"), self.ostart))
        self.paths(parsed)
        # The seed pod names itself as the seed.
        seedconf = self.parse_conf(self.start_pod(self.ostart)[1])
        if seedconf.get("nodename") != seed:
            err("the seed pod's nodename is %s, not %s"
                % (seedconf.get("nodename"), seed))

    def paths(self, parsed):
        """data_dir, run_dir, keys and the password file in the pod."""
        err, root = self.err, self.root
        for key, kind in (("data_dir", "claim"), ("run_dir", "emptyDir"),
                          ("cluster.key_dir", "emptyDir")):
            m = self.mount_of(parsed.get(key, ""))
            if m is None or m[1] != kind:
                err("%s %s is not on a %s volume" % (key, parsed.get(key),
                                                      kind))
        m = self.mount_of(self.ctx.default_conf)
        if m is None or m[1] != "emptyDir":
            err("%s is not on an emptyDir (the entrypoint writes it)"
                % self.ctx.default_conf)
        pw = parsed.get("password_file")
        if pw and not os.path.isfile(root + pw):
            err("password_file %s is not in the pod's file tree" % pw)
        kdir = root + parsed.get("cluster.key_dir", "/etc/tern/keys")
        for kf in self.ctx.key_files:
            f = os.path.join(kdir, kf)
            if not os.path.isfile(f):
                err("no %s in cluster.key_dir after the entrypoint" % kf)
                continue
            with open(f) as fh:
                if fh.read() != self.ctx.secrets["tern-keys"][kf]:
                    err("%s differs from the Secret's" % kf)
            mode = stat.S_IMODE(os.stat(f).st_mode)
            if kf.endswith(".key") and mode != 0o600:
                err("%s has mode %o, want 0600" % (kf, mode))

    def prestop(self):
        """A pod that stays stops without leaving; one scaled away leaves,
        with a command the real ternctl parses."""
        err, pre = self.err, self.pre
        text = self.scripts.get(pre[1], "")
        rfile = script_const(text, "replicas_file")
        budget = script_const(text, "budget")
        scale = self.man.get("ConfigMap", "tern-scale")
        if scale is None or str((scale.get("data") or {}).get(
                "replicas")) != str(self.replicas):
            err("ConfigMap tern-scale replicas is not the StatefulSet's %s"
                % self.replicas)
        if rfile is None or not os.path.isfile(self.root + rfile):
            err("prestop.sh reads %s: not in the pod's file tree" % rfile)
        grace = self.podspec.get("terminationGracePeriodSeconds", 30)
        if budget is None or not budget.isdigit() or \
                grace < int(budget) + 15:
            err("terminationGracePeriodSeconds %s is not above prestop's "
                "budget %s + 15 s" % (grace, budget))
        if not os.path.isfile(self.root + pre[1]):
            raise Stop("preStop script %s is not in the pod's file tree"
                       % pre[1])
        env = self.env
        r = run(["/bin/sh", self.root + pre[1]], env=env)
        if shim_calls(env["SHIM_DIR"])[1:]:
            err("preStop of a pod that stays ran ternctl %s"
                % shim_calls(env["SHIM_DIR"])[1:])
        if r.returncode != 0:
            err("preStop of a pod that stays failed: %s" % r.stdout)

        gone = self.ostart + self.replicas
        root, conf, env = self.start_pod(gone)
        with open(conf) as f:
            text = f.read()
        # ternctl gets a copy whose run_dir is empty: nothing answers it.
        os.makedirs(root + ".run")
        with open(env["SHIM_CONF"], "w") as f:
            f.write(re.sub(r"^run_dir\s*=.*$", "run_dir = " + root + ".run",
                           text, flags=re.M))
        r = run(["/bin/sh", root + pre[1]], env=env)
        calls = shim_calls(env["SHIM_DIR"])[1:]
        node = "tern@" + self.pod_host % gone
        if not calls:
            raise Stop("preStop of pod %d (scaled away) did not run "
                       "ternctl: %s" % (gone, r.stdout.strip()))
        argv = calls[0]
        if "leave" not in argv or "node=" + node not in argv:
            err("preStop ran ternctl %s, want cluster leave node=%s"
                % (" ".join(argv), node))
        if self.ctx.ternctl:
            rc, out = shim_result(env["SHIM_DIR"], 1)
            if rc == 2:
                err("ternctl refuses the preStop command (usage): %s"
                    % out.splitlines()[0])
            elif "not running" not in out:
                err("ternctl %s: want 'clusterd is not running', got rc "
                    "%s: %s" % (" ".join(argv), rc, out))


def shim_calls(d):
    calls = []
    n = 0
    while os.path.exists(os.path.join(d, "call.%d" % n)):
        with open(os.path.join(d, "call.%d" % n)) as f:
            calls.append(f.read().split("\n")[:-1])
        n += 1
    return calls


def shim_result(d, n):
    try:
        with open(os.path.join(d, "rc.%d" % n)) as f:
            rc = int(f.read())
        with open(os.path.join(d, "out.%d" % n)) as f:
            return rc, f.read().strip()
    except (OSError, ValueError):
        return None, ""


SHIM = r"""#!/bin/sh
# ternctl stand-in for test 50: records its arguments; "run" stops there,
# other commands go to the real ternctl with -c FILE replaced by SHIM_CONF.
n=0
while [ -e "$SHIM_DIR/call.$n" ]; do n=$((n + 1)); done
for a in "$@"; do printf '%s\n' "$a"; done >"$SHIM_DIR/call.$n"
[ "$1" = run ] && exit 0
[ -n "$SHIM_REAL" ] || exit 0
prev=
first=1
for a in "$@"; do
	[ -n "$first" ] && set -- && first=
	[ "$prev" = -c ] && a=$SHIM_CONF
	set -- "$@" "$a"
	prev=$a
done
"$SHIM_REAL" "$@" >"$SHIM_DIR/out.$n" 2>&1
rc=$?
echo "$rc" >"$SHIM_DIR/rc.$n"
cat "$SHIM_DIR/out.$n"
exit "$rc"
"""


def edit_yaml(fname, fn):
    def mutate(mdir):
        path = os.path.join(mdir, fname)
        with open(path) as f:
            docs = list(yaml.safe_load_all(f))
        fn(docs[0])
        with open(path, "w") as f:
            yaml.safe_dump_all(docs, f)
    return mutate


def edit_text(fname, old, new):
    def mutate(mdir):
        path = os.path.join(mdir, fname)
        with open(path) as f:
            text = f.read()
        if old not in text:
            raise SystemExit("mutation: %r not in %s" % (old, fname))
        with open(path, "w") as f:
            f.write(text.replace(old, new, 1))
    return mutate


def ctr0(d):
    return d["spec"]["template"]["spec"]["containers"][0]


def set_probe_port(d):
    ctr0(d)["readinessProbe"]["httpGet"]["port"] = 9999


def rename_key(d):
    for v in d["spec"]["template"]["spec"]["volumes"]:
        for s in (v.get("projected") or {}).get("sources") or []:
            for it in (s.get("secret") or {}).get("items") or []:
                if it["key"] == "cluster.key":
                    it["key"] = "curve.key"


def headless_port(d):
    for p in d["spec"]["ports"]:
        if p["name"] == "cluster":
            p["targetPort"] = 44054


def drop_env(d):
    ctr0(d)["env"] = [e for e in ctr0(d)["env"]
                      if e["name"] != "POD_NAMESPACE"]


MUTATIONS = [
    ("pod label", edit_yaml("statefulset.yaml", lambda d: d["spec"][
        "template"]["metadata"]["labels"].update(
            {"app.kubernetes.io/name": "tern-x"})), "selector"),
    ("serviceName", edit_yaml("statefulset.yaml", lambda d: d["spec"]
                              .update(serviceName="tern-hl")),
     "serviceName"),
    ("probe port", edit_yaml("statefulset.yaml", set_probe_port),
     "readinessProbe: port"),
    ("headless port", edit_yaml("service-headless.yaml", headless_port),
     "targetPort"),
    ("not headless", edit_yaml("service-headless.yaml", lambda d: d[
        "spec"].update(publishNotReadyAddresses=False)),
     "publishNotReadyAddresses"),
    ("PDB selector", edit_yaml("pdb.yaml", lambda d: d["spec"][
        "selector"]["matchLabels"].update(
            {"app.kubernetes.io/name": "other"})), "PodDisruptionBudget"),
    ("unknown key", edit_text("tern.conf.in", "storage.sync = always",
                              "storage.sync = always\nstorage.bogus = 1"),
     "unknown key"),
    ("bad value", edit_text("tern.conf.in", "storage.sync = always",
                            "storage.sync = sometimes"), "config parser"),
    ("http port", edit_text("tern.conf.in", "0.0.0.0:8888",
                            "0.0.0.0:8889"), "listener.http.default port"),
    ("loopback only", edit_text("tern.conf.in", "listener.tcp.default = "
                                "0.0.0.0:", "listener.tcp.default = "
                                "127.0.0.1:"), "listens on 127.0.0.1"),
    ("placeholder", edit_text("tern.conf.in", "${POD_HOST}:44053",
                              "${POD_IP}:44053"), "entrypoint of pod"),
    ("key name", edit_yaml("statefulset.yaml", rename_key),
     "has no key curve.key"),
    ("downward API", edit_yaml("statefulset.yaml", drop_env),
     "POD_NAMESPACE is not set"),
    ("unlisted", edit_text("kustomization.yaml", "  - pdb.yaml\n", ""),
     "pdb.yaml is not listed"),
    ("leave syntax", edit_text("prestop.sh", 'node="$node"',
                               'node "$node"'), "(usage)"),
    ("scale guard", edit_text("prestop.sh", '-lt "$want"', '-le "$want"'),
     "did not run ternctl"),
    ("scale count", edit_text("configmap-scale.yaml", 'replicas: "3"',
                              'replicas: "4"'), "tern-scale replicas"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ternctl")
    ap.add_argument("--helper")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    ctx = Ctx(args)
    with open(ctx.shim, "w") as f:
        f.write(SHIM)
    os.chmod(ctx.shim, 0o755)
    mdir = os.path.join(ctx.srcdir, "deploy/kubernetes")
    failed = False

    errors = Check(mdir, ctx, "real").run()
    for e in errors:
        print("error: " + e)
    failed |= bool(errors)
    print("manifests: %d errors" % len(errors))

    # kustomize itself, when kubectl is here: the generated ConfigMap's
    # hashed name must reach the StatefulSet.
    if ctx.kubectl:
        r = run([ctx.kubectl, "kustomize", mdir])
        if r.returncode != 0:
            print("error: kubectl kustomize: " + r.stdout)
            failed = True
        else:
            docs = [d for d in yaml.safe_load_all(r.stdout) if d]
            cms = {d["metadata"]["name"] for d in docs
                   if d["kind"] == "ConfigMap"}
            refs = re.findall(r"name: (tern-config\S*)",
                              yaml.safe_dump([d for d in docs
                                              if d["kind"] ==
                                              "StatefulSet"]))
            if not refs or not set(refs) <= cms:
                print("error: kustomize: StatefulSet refers to %s, "
                      "ConfigMaps are %s" % (refs, cms))
                failed = True
    else:
        ctx.notes.append("no kubectl: kustomize build not checked")

    # The docs name the Secrets the StatefulSet mounts.
    with open(os.path.join(ctx.srcdir, "docs/kubernetes.md")) as f:
        docs = f.read()
    for want in ["create secret generic %s" % s for s in ctx.secrets] + \
            ["ternctl keys create", "cluster leave", "tern-scale",
             "partition"]:
        if want not in docs:
            print("error: docs/kubernetes.md does not mention %r" % want)
            failed = True

    # Each mutation must be caught, by the check it is aimed at.
    for i, (what, mutate, expect) in enumerate(MUTATIONS):
        mut = os.path.join(ctx.work, "mut-%d" % i)
        shutil.rmtree(mut, ignore_errors=True)
        shutil.copytree(mdir, mut)
        mutate(mut)
        if expect == "(usage)" and not ctx.ternctl:
            continue
        if expect == "config parser" and not ctx.helper:
            continue
        errs = Check(mut, ctx, "mut%d" % i).run()
        if not any(expect in e for e in errs):
            print("error: mutation %r not caught (want %r): %s"
                  % (what, expect, errs))
            failed = True
        else:
            print("mutation %r caught: %s" % (what, [e for e in errs
                                                    if expect in e][0]))
    for n in ctx.notes:
        print("note: " + n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
