package api

import "github.com/gin-gonic/gin"

// routes lists every route of the service.
func (s *server) routes(r *gin.Engine) {
	r.GET("/healthz", s.healthz())
	r.GET("/readyz", s.readyz())
	r.GET("/metrics", s.metrics.handler())
	r.GET("/openapi.yaml", s.openapi())
	r.GET("/ui", s.uiRedirect())
	r.GET("/ui/*file", s.uiFile())
	r.HEAD("/ui/*file", s.uiFile())
	apps := r.Group("/v1", s.requireAPIKey())
	apps.GET("/groups/:group/picks", s.picksShed.limit(s), s.picks())
	apps.GET("/groups/:group", s.group())
	apps.GET("/status", s.status())
	apps.GET("/models", s.models())
	apps.POST("/events", s.eventsShed.limit(s), s.events())
	apps.GET("/experiments", s.listExperiments())
	apps.GET("/experiments/:key", s.getExperiment())
	apps.GET("/experiments/:key/report", s.experimentReport())
	admin := r.Group("/v1/admin", s.requireToken())
	admin.POST("/models/:version/promote", s.promote())
	admin.POST("/models/rollback", s.rollback())
	admin.POST("/models/reload", s.reload())
	admin.POST("/catalog", s.catalog())
	admin.POST("/experiments", s.createExperiment())
	admin.PUT("/experiments/:key", s.updateExperiment())
	admin.POST("/experiments/:key/:action", s.experimentAction())
	admin.POST("/layers", s.addLayer())
	admin.GET("/rules", s.getRules())
	admin.PUT("/rules", s.setRules())
}
