/* SPDX-License-Identifier: MIT */
/* main.c - the main of every bench program: benches register themselves
 * from constructors, so a program is just the set of files it links. */
#include "common.h"

int main(int argc, char **argv)
{
	return bc_main(argc, argv);
}
