# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# make demo's pop3 gropers, run in the client namespace against Dovecot on
# the gateway, from a source address the demo names; times are seconds
# since the first connect.
#   burst SRC DST N INTERVAL [HOLD]  N connections, started INTERVAL s apart,
#                              each held until HOLD s (default 3) pass without
#                              a byte: when each got its banner, how it ended
#   login SRC DST USER PASS [capa]  one session (banner, CAPA, USER, PASS,
#                              QUIT) with poplib, each reply timed
#   guesses SRC DST USER...    one failed login per USER, a connection each,
#                              started 0.4 s apart
import poplib, socket, sys, threading, time

class POP3From(poplib.POP3):
	def __init__(self, src, host, timeout):
		self.src = src
		poplib.POP3.__init__(self, host, 110, timeout)
	def _create_socket(self, timeout):
		return socket.create_connection((self.host, self.port), timeout, (self.src, 0))

def out(t0, what):
	print("  %5.2fs  %s" % (time.monotonic() - t0, what), flush=True)

def dialogue(src, dst, user, password, capa=False, timeout=30):
	"""One session: banner, [CAPA], USER, PASS, QUIT; each reply timed."""
	t0 = time.monotonic()
	p = POP3From(src, dst, timeout)
	out(t0, "< " + p.getwelcome().decode())
	if capa:
		out(t0, "> CAPA")
		resp, lines, _ = p._longcmd("CAPA")
		out(t0, "< " + resp.decode() + " " + " ".join(l.decode() for l in lines) + " .")
	out(t0, "> USER " + user)
	out(t0, "< " + p.user(user).decode())
	out(t0, "> PASS " + password)
	try:
		out(t0, "< " + p.pass_(password).decode())
	except poplib.error_proto as e:
		out(t0, "< " + e.args[0].decode())
	out(t0, "> QUIT")
	out(t0, "< " + p.quit().decode())
	return time.monotonic() - t0

def burst(src, dst, n, interval, hold):
	"""n connections, started interval seconds apart, each held: how each one ends."""
	t0 = time.monotonic()
	ends = [""] * n
	def now():
		return time.monotonic() - t0
	def one(i):
		s = socket.socket()
		s.bind((src, 0))
		s.settimeout(3)
		try:
			s.connect((dst, 110))
		except OSError as e:
			ends[i] = "connect failed at %.2fs: %s" % (now(), e.strerror or e)
			s.close()
			return
		got, banner, end = b"", "no banner,", "nothing more within %gs" % hold
		ends[i] = "connected at %.2fs," % now()
		s.settimeout(hold)
		try:
			while True:
				b = s.recv(512)
				if not b:
					end = "closed by the server at %.2fs" % now()
					break
				if not got:
					banner = "banner at %.2fs:" % now()
				got += b
		except ConnectionResetError:
			end = "RESET at %.2fs" % now()
		except socket.timeout:
			pass
		s.close()
		ends[i] += " %s %s %s" % (banner, got.decode(errors="replace").strip(), end)
	threads = []
	for i in range(n):
		threads.append(threading.Thread(target=one, args=(i,)))
		threads[-1].start()
		time.sleep(interval)
	for t in threads:
		t.join()
	for i in range(n):
		print("  connection %d: %s" % (i + 1, " ".join(ends[i].split())), flush=True)

def guesses(src, dst, users):
	"""A slow groper: one failed login per connection, a few at a time."""
	def one(u):
		try:
			p = POP3From(src, dst, 30)
			p.user(u)
			try:
				p.pass_("123456")
			except poplib.error_proto as e:
				print("  %-8s %s" % (u, e.args[0].decode()), flush=True)
			p.quit()
		except OSError as e:
			print("  %-8s %s" % (u, e), flush=True)
	threads = []
	for u in users:
		threads.append(threading.Thread(target=one, args=(u,)))
		threads[-1].start()
		time.sleep(0.4)
	for t in threads:
		t.join()

cmd = sys.argv[1]
if cmd == "burst":
	burst(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
		float(sys.argv[6]) if len(sys.argv) > 6 else 3)
elif cmd == "login":
	print("  took %.2fs" % dialogue(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
		capa=len(sys.argv) > 6))
elif cmd == "guesses":
	guesses(sys.argv[2], sys.argv[3], sys.argv[4:])
