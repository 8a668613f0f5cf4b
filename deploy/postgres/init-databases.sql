-- One database per service: no service reads another's tables (DESIGN.md, State).
CREATE DATABASE intake;
CREATE DATABASE dispatch;
CREATE DATABASE sla_monitor;
CREATE DATABASE callback;
CREATE DATABASE identity;
CREATE DATABASE knowledge;
CREATE DATABASE reporting;
CREATE DATABASE outbound;
CREATE DATABASE console;
