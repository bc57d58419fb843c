"""A private RabbitMQ node for tests and benchmarks, started without systemd.

    from rabbitmq import RabbitMQ
    with RabbitMQ(tls=True) as rmq:
        ...  # rmq.port, rmq.url; with tls: rmq.amqps_port, rmq.amqps_url,
             # rmq.ca_file, rmq.client_cert, rmq.client_key

The node runs Debian's /usr/lib/rabbitmq/bin/rabbitmq-server as the current
user with everything private to one temporary directory: a unique node name
(govstream-PID-N@localhost), its own epmd on a free loopback port
(ERL_EPMD_PORT), the Erlang distribution and the AMQP listener on free
loopback ports, the database, logs, config, enabled-plugins file and HOME (the
Erlang cookie goes there). It shares nothing with a system RabbitMQ and
listens on 127.0.0.1 only. The guest user works as guest/guest (RabbitMQ
allows it from loopback).

start() returns once an AMQP connection handshake succeeds (pika), within
`deadline` seconds, and records the time it took in `start_seconds`. stop()
ends the whole process group (epmd, beam.smp, erl_child_setup, inet_gethost):
SIGTERM, then SIGKILL after `grace` seconds, and removes the directory.
epmd is started here, in the foreground, as the group's leader, so that the
node does not start a daemonised epmd that would outlive it.

With tls=True, `openssl` makes a CA, a server certificate for 127.0.0.1 and
localhost, and a client certificate, all in the directory, and the node gets
a listeners.ssl.default listener that verifies a client certificate when one
is presented (fail_if_no_peer_cert false, so an amqps:// client without a
certificate connects too; require_client_cert=True makes it mandatory).

Standard library only, except the readiness check, which needs pika
(python3-pika); without pika it checks that the AMQP port accepts the
protocol header and answers connection.start.

RabbitCluster(n=3) clusters n such nodes on this machine: one private epmd
and one HOME (with an Erlang cookie written before any node starts) shared by
all, and for each node its own name (govstream-PID-S-I@localhost), AMQP and
distribution ports, database, logs and process group. Nodes 2..n join node 1
on their first boot (classic_config peer discovery). It can kill -9 a node's
beam.smp (kill9), restart that node on its database (RabbitMQ.restart), run
rabbitmqctl against a node (RabbitMQ.ctl) and report a quorum queue's leader
and members (queue_info). stop() ends every node's group and epmd's and
removes the directory.

`python3 tests/e2e/rabbitmq.py` starts a node, prints its ports and start
time, and stops it; `python3 tests/e2e/rabbitmq.py cluster` does the same
with a three-node cluster.
"""

import glob
import itertools
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

SERVER = os.environ.get("GOVSTREAM_RABBITMQ_SERVER", "/usr/lib/rabbitmq/bin/rabbitmq-server")  # env: for tests
_serial = itertools.count(1)


def installed():
    """True when rabbitmq-server and epmd are installed (Debian's packages)."""
    return os.access(SERVER, os.X_OK) and bool(_epmd())


def _epmd():
    return shutil.which("epmd") or next(iter(sorted(glob.glob("/usr/lib/erlang/erts-*/bin/epmd"))), None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_pids(pgid):
    """The live processes of process group pgid (zombies excluded)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()  # state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(d))
    return pids


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return True
    return st[st.rindex(")") + 2:].split()[0] == "Z"


class RabbitMQError(RuntimeError):
    pass


class RabbitMQ:
    """A private rabbitmq-server node; see the module's docstring."""

    def __init__(self, tls=False, require_client_cert=False, deadline=60.0, grace=5.0, config_extra="", parent=None,
                 nodename=None, epmd_port=None, home=None):
        """parent: where the temporary directory goes (default: tempfile's); config_extra: more
        rabbitmq.conf lines. For the nodes of a RabbitCluster: nodename, epmd_port (an epmd
        that someone else runs: the node then leads its own process group) and home (a shared
        HOME, holding the cluster's Erlang cookie)."""
        self.tls, self.require_client_cert, self.parent = tls, require_client_cert, parent
        self.deadline, self.grace, self.config_extra = deadline, grace, config_extra
        self.host = "127.0.0.1"
        self.dir = self.epmd = self.server = self.env = None
        self.own_epmd = epmd_port is None
        self.home = home
        self.pgid = None  # the node's process group: epmd's (own epmd) or the server's
        self.port = self.amqps_port = self.dist_port = None
        self.epmd_port = epmd_port
        self.ca_file = self.server_cert = self.server_key = self.client_cert = self.client_key = None
        self.nodename = nodename or f"govstream-{os.getpid()}-{next(_serial)}@localhost"
        self.start_seconds = None

    # -- URLs for clients
    @property
    def url(self):
        return f"amqp://guest:guest@{self.host}:{self.port}/%2F"

    @property
    def amqps_url(self):
        return f"amqps://guest:guest@{self.host}:{self.amqps_port}/%2F" if self.tls else None

    def log_text(self, limit=4000):
        """The tail of the node's console output and log files (for error messages)."""
        out = []
        for p in [os.path.join(self.dir, "console.log")] + sorted(glob.glob(os.path.join(self.dir, "log", "*.log"))):
            try:
                with open(p, errors="replace") as f:
                    out.append(f"--- {os.path.basename(p)}\n" + f.read()[-limit:])
            except OSError:
                pass
        return "\n".join(out)

    # -- lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, attempts=3):
        """launch() + wait_ready(). The free ports are picked before the node
        binds them, so a process started meanwhile (a parallel test) may take
        one: a start that failed on "eaddrinuse" is retried with new ports."""
        for attempt in range(attempts):
            try:
                return self.launch().wait_ready()
            except RabbitMQError as e:
                if "eaddrinuse" not in str(e) or attempt == attempts - 1:
                    raise

    def launch(self):
        """Starts the node without waiting for it (start() = launch() + wait_ready())."""
        if not installed():
            raise RabbitMQError(f"{SERVER} (rabbitmq-server) or epmd is not installed")
        self._t0 = time.monotonic()
        self.dir = tempfile.mkdtemp(prefix="govstream-rabbitmq-", dir=self.parent)
        try:
            self._start(self._t0)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self):
        """Waits (bounded by `deadline` from launch()) until the node takes AMQP connections."""
        try:
            self._wait_amqp(self._t0)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - self._t0
        return self

    def _start(self, t0):
        d = self.dir
        for sub in ("mnesia", "log", "home"):
            os.makedirs(os.path.join(d, sub))
        self.port, self.dist_port = free_port(), free_port()
        if self.own_epmd:
            self.epmd_port = free_port()
        conf = [f"listeners.tcp.default = 127.0.0.1:{self.port}", "loopback_users.guest = true",
                "log.console = false", "log.file.level = info"]
        if self.tls:
            self.amqps_port = free_port()
            self._make_certs()
            conf += [f"listeners.ssl.default = 127.0.0.1:{self.amqps_port}",
                     f"ssl_options.cacertfile = {self.ca_file}", f"ssl_options.certfile = {self.server_cert}",
                     f"ssl_options.keyfile = {self.server_key}", "ssl_options.verify = verify_peer",
                     f"ssl_options.fail_if_no_peer_cert = {'true' if self.require_client_cert else 'false'}"]
        conf.append(self.config_extra)
        with open(os.path.join(d, "rabbitmq.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        with open(os.path.join(d, "enabled_plugins"), "w") as f:
            f.write("[].\n")
        open(os.path.join(d, "rabbitmq-env.conf"), "w").close()  # not /etc/rabbitmq/rabbitmq-env.conf
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=self.home or os.path.join(d, "home"), ERL_EPMD_PORT=str(self.epmd_port), ERL_EPMD_ADDRESS="127.0.0.1",
            RABBITMQ_NODENAME=self.nodename, RABBITMQ_USE_LONGNAME="false",
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_CONF_ENV_FILE=os.path.join(d, "rabbitmq-env.conf"),
            RABBITMQ_CONFIG_FILE=os.path.join(d, "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=os.path.join(d, "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(d, "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=os.path.join(d, "mnesia"), RABBITMQ_LOG_BASE=os.path.join(d, "log"),
            RABBITMQ_PID_FILE=os.path.join(d, "node.pid"),
            RABBITMQ_PLUGINS_EXPAND_DIR=os.path.join(d, "plugins-expand"),
            # The distribution listens on loopback only.
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
        self.env = env
        if self.own_epmd:
            # epmd first, in the foreground, leading a new process group (in our session) that the node joins.
            with open(os.path.join(d, "console.log"), "ab") as console:
                self.epmd = subprocess.Popen([_epmd(), "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                                             env=env, stdin=subprocess.DEVNULL, stdout=console,
                                             stderr=subprocess.STDOUT, process_group=0)
            self.pgid = self.epmd.pid
            self._wait_port(self.epmd_port, t0, "epmd")
        self._spawn_server()

    def _spawn_server(self):
        """Runs rabbitmq-server: in epmd's process group, or leading its own (shared epmd)."""
        with open(os.path.join(self.dir, "console.log"), "ab") as console:
            self.server = subprocess.Popen([SERVER], env=self.env, cwd=self.dir, stdin=subprocess.DEVNULL,
                                           stdout=console, stderr=subprocess.STDOUT,
                                           process_group=self.epmd.pid if self.own_epmd else 0)
        if not self.own_epmd:
            self.pgid = self.server.pid

    def _left(self, t0, what):
        left = t0 + self.deadline - time.monotonic()
        if left <= 0:
            raise RabbitMQError(f"{what} not ready within {self.deadline:.0f} s (node {self.nodename}, "
                                f"{self.dir}):\n{self.log_text()}")
        return left

    def _check_alive(self):
        for name, p in (("epmd", self.epmd), ("rabbitmq-server", self.server)):
            if p is not None and p.poll() is not None:
                raise RabbitMQError(f"{name} exited with status {p.returncode} during start-up:\n{self.log_text()}")

    def _wait_port(self, port, t0, what):
        while True:
            self._left(t0, what)
            self._check_alive()
            try:
                socket.create_connection((self.host, port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)

    def _wait_amqp(self, t0):
        while True:
            left = self._left(t0, "RabbitMQ's AMQP listener")
            self._check_alive()
            try:
                if self._handshake(min(left, 5)):
                    return
            except (OSError, EOFError):
                pass
            except Exception as e:  # pika's connection errors while the node boots
                if type(e).__module__.split(".")[0] != "pika":
                    raise
            time.sleep(0.1)

    def _handshake(self, timeout):
        try:
            import pika
        except ImportError:
            return self._raw_handshake(timeout)
        params = pika.ConnectionParameters(host=self.host, port=self.port, socket_timeout=timeout,
                                           blocked_connection_timeout=timeout, connection_attempts=1)
        conn = pika.BlockingConnection(params)
        try:
            conn.channel().close()
        finally:
            conn.close()
        return True

    def _raw_handshake(self, timeout):  # the server answers the protocol header with connection.start
        with socket.create_connection((self.host, self.port), timeout=timeout) as s:
            s.sendall(b"AMQP\x00\x00\x09\x01")
            head = s.recv(11)
            return len(head) == 11 and head[0] == 1 and head[7:11] == b"\x00\x0a\x00\x0a"

    def pids(self):
        """The live processes of the node's process group."""
        return _group_pids(self.pgid) if self.pgid else []

    def beam_pid(self):
        """The pid of the node's Erlang VM (beam.smp), or None."""
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip().startswith("beam"):
                        return pid
            except OSError:
                pass
        return None

    def stop(self):
        """Ends the node's whole process group (bounded) and removes its directory."""
        self._end_group()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _end_group(self):
        if self.pgid is not None:
            pgid = self.pgid
            for sig, secs in ((signal.SIGTERM, self.grace), (signal.SIGKILL, 10.0)):
                try:
                    os.killpg(pgid, sig)
                except ProcessLookupError:
                    break
                end = time.monotonic() + secs
                while time.monotonic() < end:
                    for p in (self.epmd, self.server):
                        if p is not None:
                            p.poll()  # reap our own children as they exit
                    if not _group_pids(pgid):
                        break
                    time.sleep(0.05)
                else:
                    continue
                break
            for p in (self.epmd, self.server):
                if p is not None:
                    try:
                        p.wait(timeout=1)
                    except subprocess.TimeoutExpired:
                        pass
            left = _group_pids(pgid)
            self.epmd = self.server = self.pgid = None
            if left:
                raise RabbitMQError(f"processes {left} of node {self.nodename} survived SIGKILL")

    # -- failures and the command-line tools (also for RabbitCluster)
    def kill9(self, timeout=10.0):
        """kill -9 of the node's Erlang VM (beam.smp); returns once it is gone (bounded). The
        directory stays, so restart() brings the same node back."""
        pid = self.beam_pid()
        if pid is None:
            raise RabbitMQError(f"node {self.nodename} has no beam.smp to kill")
        os.kill(pid, signal.SIGKILL)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.server is not None:
                self.server.poll()
            if not os.path.exists(f"/proc/{pid}") or _is_zombie(pid):
                break
            time.sleep(0.02)
        else:
            raise RabbitMQError(f"beam.smp {pid} of node {self.nodename} outlived SIGKILL for {timeout:.0f} s")
        if not self.own_epmd:
            self._end_group()  # what is left of the node's group (erl_child_setup and the like)
        return pid

    def restart(self):
        """Starts a node that was kill9()ed again, on its directory, ports and name."""
        if self.own_epmd:
            raise RabbitMQError("restart() is for the nodes of a RabbitCluster (a shared epmd)")
        self._end_group()
        self._t0 = time.monotonic()
        self._spawn_server()
        return self.wait_ready()

    def ctl(self, *args, tool="rabbitmqctl", timeout=60.0, check=True):
        """Runs /usr/lib/rabbitmq/bin/TOOL -n NODE ARGS with the node's environment (its epmd and
        cookie); returns its stdout. Bounded by `timeout`."""
        exe = os.path.join(os.path.dirname(SERVER), tool)
        try:
            r = subprocess.run([exe, "-n", self.nodename, *args], env=self.env, cwd=self.dir,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RabbitMQError(f"{tool} {' '.join(args)} (node {self.nodename}) took more than {timeout:.0f} s")
        if check and r.returncode:
            raise RabbitMQError(f"{tool} -n {self.nodename} {' '.join(args)} exited with {r.returncode}:\n"
                                f"{r.stdout}{r.stderr}")
        return r.stdout

    # -- certificates
    def _make_certs(self):
        c = os.path.join(self.dir, "certs")
        os.makedirs(c)
        p = lambda n: os.path.join(c, n)

        def openssl(*args):
            r = subprocess.run(["openssl", *args], cwd=c, capture_output=True, text=True, timeout=30)
            if r.returncode:
                raise RabbitMQError(f"openssl {' '.join(args)} failed:\n{r.stderr}")

        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *key, "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2",
                "-subj", "/CN=govstream test CA", "-addext", "basicConstraints=critical,CA:true",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
                          ("client", "extendedKeyUsage=clientAuth")):
            openssl("req", *key, "-keyout", p(f"{name}.key"), "-out", p(f"{name}.csr"),
                    "-subj", f"/CN={'localhost' if name == 'server' else 'govstream-test-client'}")
            with open(p(f"{name}.ext"), "w") as f:
                f.write("basicConstraints=CA:false\nkeyUsage=critical,digitalSignature,keyEncipherment\n" + ext + "\n")
            openssl("x509", "-req", "-in", p(f"{name}.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                    "-CAcreateserial", "-days", "2", "-extfile", p(f"{name}.ext"), "-out", p(f"{name}.pem"))
        self.ca_file, self.server_cert, self.server_key = p("ca.pem"), p("server.pem"), p("server.key")
        self.client_cert, self.client_key = p("client.pem"), p("client.key")

    def ssl_context(self, client_cert=True):
        """An ssl.SSLContext that trusts the node's CA (and presents the client certificate)."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if client_cert:
            ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx



class RabbitCluster:
    """n private RabbitMQ nodes clustered on this machine; see the module's docstring.

        with RabbitCluster(3) as c:
            c.nodes[0].url, ...; c.queue_info("q"); c.kill9(c.node(leader)); c.nodes[i].restart()

    One temporary directory holds one epmd (on a free loopback port, its own process group)
    and one HOME with the Erlang cookie (written here, before any node starts), shared by
    every node; each node is a RabbitMQ in a subdirectory with its own name
    (govstream-PID-S-I@localhost), AMQP and distribution ports, database, logs and process
    group. Node 1 starts alone; nodes 2..n then start together and join it on their first
    boot through classic_config peer discovery (their config names node 1). start()
    returns, within `deadline` seconds, once node 1 reports every node running.
    """

    def __init__(self, n=3, deadline=120.0, grace=5.0, parent=None, config_extra=""):
        if n < 1:
            raise ValueError("a cluster has at least one node")
        self.n, self.deadline, self.grace, self.parent, self.config_extra = n, deadline, grace, parent, config_extra
        self.dir = self.epmd = self.epmd_port = self.home = None
        self.nodes = []
        self.start_seconds = None
        serial = next(_serial)
        self.names = [f"govstream-{os.getpid()}-{serial}-{i}@localhost" for i in range(1, n + 1)]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def node(self, name):
        """The node (RabbitMQ) called `name`."""
        for nd in self.nodes:
            if nd.nodename == name:
                return nd
        raise KeyError(name)

    def start(self):
        if not installed():
            raise RabbitMQError(f"{SERVER} (rabbitmq-server) or epmd is not installed")
        t0 = time.monotonic()
        self.dir = tempfile.mkdtemp(prefix="govstream-rabbitcluster-", dir=self.parent)
        try:
            self._start(t0)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _left(self, t0, what):
        left = t0 + self.deadline - time.monotonic()
        if left <= 0:
            raise RabbitMQError(f"{what} not within {self.deadline:.0f} s ({self.dir}):\n" +
                                "\n".join(f"=== {nd.nodename}\n{nd.log_text(2000)}" for nd in self.nodes if nd.dir))
        return left

    def _start(self, t0):
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home)
        cookie = os.path.join(self.home, ".erlang.cookie")
        with open(os.open(cookie, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400), "w") as f:
            f.write(os.urandom(16).hex().upper())
        self.epmd_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        with open(os.path.join(self.dir, "epmd.log"), "wb") as log:
            self.epmd = subprocess.Popen([_epmd(), "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         process_group=0)
        while True:
            self._left(t0, "epmd listening")
            if self.epmd.poll() is not None:
                raise RabbitMQError(f"epmd exited with status {self.epmd.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.epmd_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.02)
        join = "\n".join(["cluster_formation.peer_discovery_backend = classic_config",
                          f"cluster_formation.classic_config.nodes.1 = {self.names[0]}"])
        for i, name in enumerate(self.names):
            nd = RabbitMQ(deadline=max(1.0, self._left(t0, "the nodes")), grace=self.grace, parent=self.dir,
                          nodename=name, epmd_port=self.epmd_port, home=self.home,
                          config_extra=self.config_extra + ("\n" + join if i else ""))
            self.nodes.append(nd)
        self.nodes[0].start()
        for nd in self.nodes[1:]:
            nd.launch()
        for nd in self.nodes[1:]:
            nd.wait_ready()
        self.wait_running(self.names, max(1.0, self._left(t0, "the cluster")))

    def running_nodes(self, via=None):
        """The running nodes of the cluster, as node `via` (default: the first live one) sees them."""
        via = via or next(nd for nd in self.nodes if nd.beam_pid())
        st = json.loads(via.ctl("cluster_status", "--formatter", "json", timeout=30))
        return sorted(st.get("running_nodes", []))

    def wait_running(self, names, timeout=60.0, via=None):
        """Waits (bounded) until the running nodes are exactly `names`."""
        end = time.monotonic() + timeout
        want, seen = sorted(names), None
        while True:
            try:
                seen = self.running_nodes(via)
                if seen == want:
                    return seen
            except RabbitMQError as e:
                seen = str(e)
            if time.monotonic() > end:
                raise RabbitMQError(f"running nodes {seen}, not {want}, after {timeout:.0f} s")
            time.sleep(0.5)

    def queue_info(self, queue, via=None):
        """{"name", "type", "leader", "members", "online", "messages"} of `queue` as node `via`
        (default: the first live node) reports it; None when there is no such queue."""
        via = via or next(nd for nd in self.nodes if nd.beam_pid())
        rows = json.loads(via.ctl("list_queues", "-q", "--formatter", "json", "name", "type", "leader",
                                  "members", "online", "messages", timeout=30) or "[]")
        return next((r for r in rows if r.get("name") == queue), None)

    def kill9(self, node):
        """kill -9 of one node's beam.smp (a RabbitMQ of self.nodes, or its name)."""
        if isinstance(node, str):
            node = self.node(node)
        return node.kill9()

    def stop(self):
        """Ends every node's process group and epmd's (bounded), and removes the directory."""
        errors = []
        for nd in self.nodes:  # SIGTERM to all first: their grace periods overlap
            if nd.pgid is not None:
                try:
                    os.killpg(nd.pgid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for nd in self.nodes:
            try:
                nd.stop()
            except RabbitMQError as e:
                errors.append(str(e))
        if self.epmd is not None:
            try:
                os.killpg(self.epmd.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.epmd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                errors.append(f"epmd {self.epmd.pid} survived SIGKILL")
            self.epmd = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if errors:
            raise RabbitMQError("; ".join(errors))

    def pids(self):
        """The live processes of every node's group and epmd's."""
        out = [p for nd in self.nodes for p in nd.pids()]
        return out + (_group_pids(self.epmd.pid) if self.epmd else [])


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["cluster"]:
        with RabbitCluster(3) as c:
            print(f"cluster of {[nd.nodename for nd in c.nodes]} (amqp ports {[nd.port for nd in c.nodes]}, "
                  f"epmd {c.epmd_port}) started in {c.start_seconds:.2f} s; running {c.running_nodes()}")
        sys.exit(0)
    with RabbitMQ(tls=True) as r:
        print(f"node {r.nodename}: amqp port {r.port}, amqps port {r.amqps_port}, epmd {r.epmd_port}, "
              f"started in {r.start_seconds:.2f} s; processes {r.pids()}")
