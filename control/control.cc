// Config sources, snapshot build and publish, fleet distribution, CA service.
