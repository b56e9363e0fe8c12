// How inspection names what CRIU's images record as numbers: socket
// addresses and states, descriptor types, mapping kinds, architectures
// (engine/image_contents.cpp).
#pragma once

#include "engine/criu_images.pb.h"
#include "engine/image_contents.hpp"

#include <map>
#include <string>

namespace stasis::engine::image_text {

// "1.2.3.4:80", "[::1]:80".
std::string address_text(std::uint32_t family,
                         const google::protobuf::RepeatedField<std::uint32_t>& words,
                         std::uint32_t port);
// Linux's TCP_* states ("listen", "established", ...), which CRIU also
// records for unix sockets.
std::string state_text(std::uint32_t state);
std::string socket_type_text(std::uint32_t type);
SocketInfo inet_socket(const images::InetSkEntry& sk);
// A unix socket's name: a path, "@name" when abstract, "" when unnamed.
std::string unix_name(const images::UnixSkEntry& sk);
// names_by_ino: the names of the tree's unix sockets, for the peer.
SocketInfo unix_socket(const images::UnixSkEntry& sk,
                       const std::map<std::uint32_t, std::string>& names_by_ino);
// CRIU's fd_types: "file", "pipe", "inet", "unix", ...
std::string fd_type_text(std::uint32_t type);
// The kind of a mapping from CRIU's VMA_* status bits.
std::string mapping_kind(std::uint32_t status);
// CRIU's core_entry.march: "x86_64", ...
std::string arch_text(std::uint32_t mtype);

} // namespace stasis::engine::image_text
