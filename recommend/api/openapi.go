package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPI is the service's contract, served at /openapi.yaml.
//
//go:embed openapi.yaml
var openAPI []byte

func (s *server) openapi() gin.HandlerFunc {
	return func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", openAPI) }
}
