// A shell job restored onto a terminal from outside its shell's session.
//
// CRIU's --shell-job puts the restored job into CRIU's own session and makes
// its process group the terminal's foreground group (TIOCSPGRP), which works
// only when CRIU runs in the session whose controlling terminal that is: a
// `criu restore -j` typed in the terminal. A CRIU worker of stasisd cannot
// join a session of the caller's shell (no process can join a session it was
// not born into), and taking the terminal from that session (TIOCSCTTY with
// force) would leave the caller's shell without job control. So the job is
// restored as the leader of a session of its own: CRIU then neither migrates
// its session nor sets a foreground group, and opens the job's terminal as a
// copy of the worker's standard input (the caller's terminal). The job runs
// with the caller's terminal as its stdin/stdout/stderr but as nobody's
// controlling terminal: its output shows in the caller's terminal; keys typed
// there (and Ctrl-C) go to the caller's shell.
#pragma once

#include "util/result.hpp"

#include <filesystem>

namespace stasis::engine {

// Rewrites pstree.img of images_dir so that the tree's root leads its own
// session: every process of the root's session (the dumped shell's, which is
// not in the images) and of the root's process group moves to a session and
// group numbered as the root. A tree whose root leads its session already is
// left alone. The file is replaced through a new file and a rename; only a
// regular file of bounded size is read (images are user data).
Result<void> make_root_lead_its_session(const std::filesystem::path& images_dir);

} // namespace stasis::engine
