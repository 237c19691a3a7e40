// Everything an integration test needs; see tests/support/README.md.
#pragma once

#include "tests/support/certs.h"
#include "tests/support/data.h"
#include "tests/support/gatehouse.h"
#include "tests/support/load.h"
#include "tests/support/net.h"
#include "tests/support/process.h"
#include "tests/support/upstream.h"
#include "tests/support/websocket.h"
