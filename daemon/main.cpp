// stasisd: the stasis daemon.
#include <iostream>

int main() {
  std::cerr << "stasisd: not implemented yet\n";
  return 1;
}
