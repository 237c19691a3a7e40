// Out-of-line anchors for the routing library's interfaces.
#include "routing/route_table.h"
