package http

import "net/http"

func (s *Server) registerPages(mux *http.ServeMux) {}
